/* insn_sse.h - machinery for the SSE instruction-family programs.
 *
 * SSE_BINARY_TABLE-style X-macro lists give, per instruction, a name, the
 * instruction text without its operands (immediates included, ending in a
 * comma when there is one), and an input generator. For each, a family is
 * generated that runs "insn %xmm1, %xmm0" and "insn (mem), %xmm2" with the
 * same inputs under a random MXCSR rounding mode (DAZ/FTZ off, exceptions
 * masked), and prints the inputs, the register result, whether the
 * memory-operand form agreed (or its result), and the MXCSR exception
 * flags. */
#ifndef TERN_INSN_SSE_H
#define TERN_INSN_SSE_H

#include "insn_common.h"

#define SSE_CASES 600
#define MXCSR_DEFAULT 0x1f80u

static const uint32_t mxcsr_default = MXCSR_DEFAULT;

/* Runs `insn` on a (destination) and b (source); stores the register
 * result to r, the memory-form result to m, MXCSR afterwards to *mx. */
#define SSE_RUN(name, insn)                                                                  \
  static void run_##name(const vec128 *a, const vec128 *b, vec128 *r, vec128 *m,            \
                         uint32_t *mx) {                                                    \
    __asm__ volatile("ldmxcsr (%[mx])\n\t"                                                  \
                     "movdqa (%[a]), %%xmm0\n\tmovdqa (%[b]), %%xmm1\n\tmovdqa %%xmm0, %%xmm2\n\t" \
                     insn " %%xmm1, %%xmm0\n\t" insn " (%[b]), %%xmm2\n\t"                  \
                     "movdqa %%xmm0, (%[r])\n\tmovdqa %%xmm2, (%[m])\n\t"                   \
                     "stmxcsr (%[mx])\n\tldmxcsr (%[def])\n\t"                              \
                     :                                                                      \
                     : [a] "r"(a), [b] "r"(b), [r] "r"(r), [m] "r"(m), [mx] "r"(mx),        \
                       [def] "r"(&mxcsr_default)                                            \
                     : "memory", "xmm0", "xmm1", "xmm2");                                   \
  }

#define SSE_FAMILY(name, insn, gen_a, gen_b)                                                 \
  SSE_RUN(name, insn)                                                                         \
  static void test_##name(void) {                                                            \
    if (!family(#name))                                                                       \
      return;                                                                                 \
    for (int i = 0; i < SSE_CASES; i++) {                                                     \
      vec128 a = gen_a(), b = gen_b(), r, m;                                                  \
      uint32_t mx = MXCSR_DEFAULT | (uint32_t)(rnd_below(4) << 13), mx_in = mx;               \
      run_##name(&a, &b, &r, &m, &mx);                                                        \
      char mem[40] = "same"; /* insertps reads only 32 bits from memory, so it may differ */ \
      if (memcmp(&r, &m, 16))                                                                 \
        snprintf(mem, sizeof mem, VFMT, VARG(m));                                             \
      out("a=" VFMT " b=" VFMT " rc=%u: " VFMT " mem %s mx=%02x", VARG(a), VARG(b),           \
          (mx_in >> 13) & 3, VARG(r), mem, mx & 0x3f);                                        \
    }                                                                                         \
    family_end();                                                                             \
  }

#define SSE_CALL(name, ...) test_##name();

/* Shift counts in the low quadword (0..70, sometimes huge). */
static inline vec128 vec_count(void) {
  vec128 v = vec_int();
  v.q[0] = rnd_below(8) ? rnd_below(71) : rnd64();
  return v;
}

/* Mixed lanes of floats and doubles' worth of bits: used for logic ops. */
static inline vec128 vec_any(void) {
  uint64_t r = rnd_below(3);
  return r == 0 ? vec_f32() : r == 1 ? vec_f64() : vec_int();
}

#endif
