/* insn_mxcsr.c - MXCSR: ldmxcsr/stmxcsr round trips, and SSE arithmetic
 * on denormal, tiny and halfway inputs under each rounding mode with DAZ
 * (denormals are zero) and FTZ (flush to zero) on and off, printing the
 * results and the sticky exception flags (including DE and UE, which
 * depend on DAZ/FTZ). */
#include "insn_sse.h"

#define MX_OPS(X)                                                                             \
  X(addss, "addss") X(subsd, "subsd") X(mulss, "mulss") X(mulpd, "mulpd") X(divss, "divss")   \
  X(divpd, "divpd") X(sqrtss, "sqrtss") X(sqrtpd, "sqrtpd") X(minss, "minss") X(maxpd, "maxpd") \
  X(cvtsd2ss, "cvtsd2ss") X(cvtss2sd, "cvtss2sd") X(cvtps2dq, "cvtps2dq") X(cvtpd2ps, "cvtpd2ps") \
  X(cmpltps, "cmpps $1,") X(roundsd_4, "roundsd $4,")

#define MX_RUN(name, insn) SSE_RUN(name, insn)
MX_OPS(MX_RUN)

/* Small-magnitude operands: denormals, values near FLT_MIN/DBL_MIN and
 * products that underflow. */
static vec128 tiny_f32(void) {
  vec128 v;
  for (int k = 0; k < 4; k++) {
    uint64_t r = rnd_below(4);
    v.d[k] = r == 0 ? (uint32_t)(rnd32() & 0x807fffffu)                    /* denormal */
             : r == 1 ? (uint32_t)((rnd32() & 0x80ffffffu) | 0x00800000u)  /* near FLT_MIN */
             : r == 2 ? (uint32_t)((rnd32() & 0x807fffffu) | (uint32_t)(rnd_below(40) + 100) << 23)
                      : f32_bits();
  }
  return v;
}

static vec128 tiny_f64(void) {
  vec128 v;
  for (int k = 0; k < 2; k++) {
    uint64_t r = rnd_below(4);
    v.q[k] = r == 0 ? rnd64() & 0x800fffffffffffffull
             : r == 1 ? (rnd64() & 0x801fffffffffffffull) | 0x0010000000000000ull
             : r == 2 ? (rnd64() & 0x800fffffffffffffull) | (rnd_below(60) + 900) << 52
                      : f64_bits();
  }
  return v;
}

#define MX_FAMILY(name, insn)                                                                   \
  static void test_##name(void) {                                                               \
    if (!family("mxcsr_" #name))                                                                 \
      return;                                                                                    \
    for (int i = 0; i < SSE_CASES; i++) {                                                        \
      int dbl = strstr(#name, "pd") || strstr(#name, "sd") != NULL;                              \
      vec128 a = dbl ? tiny_f64() : tiny_f32(), b = dbl ? tiny_f64() : tiny_f32(), r, m;         \
      uint32_t mode = (uint32_t)rnd_below(16);                                                   \
      uint32_t mx = 0x1f80u | (mode & 3) << 13 | ((mode >> 2) & 1) << 6 /* DAZ */ |            \
                    ((mode >> 3) & 1) << 15 /* FTZ */;                                           \
      uint32_t mx_in = mx;                                                                       \
      run_##name(&a, &b, &r, &m, &mx);                                                           \
      out("mx=%04x a=" VFMT " b=" VFMT ": " VFMT " flags %02x", mx_in, VARG(a), VARG(b),         \
          VARG(r), mx & 0x3f);                                                                   \
    }                                                                                            \
    family_end();                                                                                \
  }
MX_OPS(MX_FAMILY)

static void test_roundtrip(void) {
  if (!family("ldmxcsr_stmxcsr"))
    return;
  for (int i = 0; i < SSE_CASES; i++) {
    uint32_t v = (uint32_t)rnd64() & 0xffff, back = 0;
    __asm__ volatile("ldmxcsr (%[v])\n\tstmxcsr (%[b])\n\tldmxcsr (%[def])\n\t"
                     :
                     : [v] "r"(&v), [b] "r"(&back), [def] "r"(&mxcsr_default)
                     : "memory");
    out("%04x -> %04x", v, back);
  }
  family_end();
}

/* Sticky flags accumulate across instructions until cleared. */
static void test_sticky(void) {
  if (!family("sticky_flags"))
    return;
  static const float one = 1.0f, zero = 0.0f, three = 3.0f, big = 3e38f, tiny = 1e-38f;
  uint32_t mx = 0x1f80, after[5];
  __asm__ volatile("ldmxcsr (%[mx])\n\t"
                   "movss (%[one]), %%xmm0\n\tdivss (%[three]), %%xmm0\n\tstmxcsr (%[a0])\n\t"
                   "movss (%[one]), %%xmm0\n\tdivss (%[zero]), %%xmm0\n\tstmxcsr (%[a1])\n\t"
                   "movss (%[big]), %%xmm0\n\tmulss (%[big]), %%xmm0\n\tstmxcsr (%[a2])\n\t"
                   "movss (%[tiny]), %%xmm0\n\tmulss (%[tiny]), %%xmm0\n\tstmxcsr (%[a3])\n\t"
                   "movss (%[zero]), %%xmm0\n\tdivss (%[zero]), %%xmm0\n\tstmxcsr (%[a4])\n\t"
                   "ldmxcsr (%[def])\n\t"
                   :
                   : [mx] "r"(&mx), [one] "r"(&one), [zero] "r"(&zero), [three] "r"(&three),
                     [big] "r"(&big), [tiny] "r"(&tiny), [a0] "r"(&after[0]), [a1] "r"(&after[1]),
                     [a2] "r"(&after[2]), [a3] "r"(&after[3]), [a4] "r"(&after[4]),
                     [def] "r"(&mxcsr_default)
                   : "memory", "xmm0");
  out("inexact %04x +divzero %04x +overflow %04x +underflow %04x +invalid %04x", after[0],
      after[1], after[2], after[3], after[4]);
  family_end();
}

#define MX_CALL(name, insn) test_##name();

int main(int argc, char **argv) {
  insn_init(argc, argv);
  test_roundtrip();
  test_sticky();
  MX_OPS(MX_CALL)
  return 0;
}
