/* insn_avx512.h - machinery for the AVX-512 instruction-family programs.
 *
 * Rows X(name, insn, shape, bcst, gen_a, gen_b) as in insn_avx.h; bcst is
 * the embedded broadcast of the element size ("%{1to16%}", "%{1to8%}") or
 * "" where there is none (byte and word instructions). Every case loads
 * random zmm values a (old destination c, sources a and b) and a random
 * opmask k1, then runs, each into its own destination (all preloaded with
 * c) and result slot:
 *   0 the zmm register form without a mask,
 *   1 merge masking with zmm16-18,
 *   2 zero masking into zmm24,
 *   3 a full memory operand with merge masking,
 *   4 an embedded-broadcast memory operand with zero masking,
 *   5 the ymm form (AVX512VL) with ymm17-20 and merge masking,
 *   6 the xmm form with zero masking.
 * Shapes: Z3 ("insn b, a, dst"), Z3N (Z3 without an xmm form), Z2 ("insn b, dst"), ZK (compares into
 * k2..k7, stored as the slot's first 8 bytes), ZK2 (unary into k: vfpclass, whose
 * memory forms are both broadcasts since a full one needs a size suffix),
 * ZR (the four embedded roundings {rn,rd,ru,rz}-sae into slots 0-3, masks
 * included), ZR2 (the same, unary), ZC (compress: register and masked
 * memory destinations), ZS (masked stores at three widths into slots 0-2,
 * masked loads into 3-4, merge and zero).
 * Printed: k1, MXCSR in, slot 0 in full, and a hash of each other slot,
 * then the MXCSR flags. Run with -v to see every case. */
#ifndef TERN_INSN_AVX512_H
#define TERN_INSN_AVX512_H

#include "insn_avx.h"

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512cd")))

#define B16 "%{1to16%}"
#define B8 "%{1to8%}"
#define NOB ""

#define K1 "%{%%k1%}"
#define Z "%{z%}"

#define Z_LOAD                                                                                     \
  "vmovdqu64 (%[c]), %%zmm0\n\tvmovdqu64 (%[a]), %%zmm1\n\tvmovdqu64 (%[b]), %%zmm2\n\t"           \
  "vmovdqa64 %%zmm0, %%zmm16\n\tvmovdqa64 %%zmm1, %%zmm17\n\tvmovdqa64 %%zmm2, %%zmm18\n\t"         \
  "vmovdqa64 %%zmm0, %%zmm20\n\tvmovdqa64 %%zmm0, %%zmm24\n\tvmovdqa64 %%zmm0, %%zmm4\n\t"          \
  "vmovdqa64 %%zmm0, %%zmm5\n\tvmovdqa64 %%zmm0, %%zmm6\n\tkmovq (%[k]), %%k1\n\t"
#define Z_SAVE                                                                                     \
  "vmovdqu64 %%zmm0, 0(%[o])\n\tvmovdqu64 %%zmm16, 64(%[o])\n\tvmovdqu64 %%zmm24, 128(%[o])\n\t"  \
  "vmovdqu64 %%zmm4, 192(%[o])\n\tvmovdqu64 %%zmm5, 256(%[o])\n\tvmovdqu64 %%zmm20, 320(%[o])\n\t" \
  "vmovdqu64 %%zmm6, 384(%[o])\n\t"

#define Z3_OPS(i, bc)                                                                              \
  i " %%zmm2, %%zmm1, %%zmm0\n\t" i " %%zmm18, %%zmm17, %%zmm16" K1 "\n\t"                          \
  i " %%zmm2, %%zmm17, %%zmm24" K1 Z "\n\t" i " (%[b]), %%zmm1, %%zmm4" K1 "\n\t"                   \
  i " (%[b])" bc ", %%zmm1, %%zmm5" K1 Z "\n\t" i " %%ymm18, %%ymm17, %%ymm20" K1 "\n\t"            \
  i " %%xmm2, %%xmm1, %%xmm6" K1 Z "\n\t" Z_SAVE
/* Z3 without an xmm form (vpermps, vshuff32x4): slot 6 keeps c. */
#define Z3N_OPS(i, bc)                                                                             \
  i " %%zmm2, %%zmm1, %%zmm0\n\t" i " %%zmm18, %%zmm17, %%zmm16" K1 "\n\t"                          \
  i " %%zmm2, %%zmm17, %%zmm24" K1 Z "\n\t" i " (%[b]), %%zmm1, %%zmm4" K1 "\n\t"                   \
  i " (%[b])" bc ", %%zmm1, %%zmm5" K1 Z "\n\t" i " %%ymm18, %%ymm17, %%ymm20" K1 "\n\t" Z_SAVE
#define Z2_OPS(i, bc)                                                                              \
  i " %%zmm2, %%zmm0\n\t" i " %%zmm18, %%zmm16" K1 "\n\t" i " %%zmm2, %%zmm24" K1 Z "\n\t"          \
  i " (%[b]), %%zmm4" K1 "\n\t" i " (%[b])" bc ", %%zmm5" K1 Z "\n\t"                               \
  i " %%ymm18, %%ymm20" K1 "\n\t" i " %%xmm2, %%xmm6" K1 Z "\n\t" Z_SAVE
#define ZK_OPS(i, bc)                                                                              \
  i " %%zmm2, %%zmm1, %%k2\n\t" i " %%zmm18, %%zmm17, %%k3" K1 "\n\t"                               \
  i " (%[b]), %%zmm1, %%k4" K1 "\n\t" i " (%[b])" bc ", %%zmm1, %%k5\n\t"                           \
  i " %%ymm18, %%ymm17, %%k6" K1 "\n\t" i " %%xmm2, %%xmm1, %%k7\n\t" ZK_SAVE
#define ZK2_OPS(i, bc)                                                                             \
  i " %%zmm2, %%k2\n\t" i " %%zmm18, %%k3" K1 "\n\t" i " (%[b])" bc ", %%k4" K1 "\n\t"                   \
  i " (%[b])" bc ", %%k5\n\t" i " %%ymm18, %%k6" K1 "\n\t" i " %%xmm2, %%k7\n\t" ZK_SAVE
#define ZK_SAVE                                                                                    \
  "kmovq %%k2, 0(%[o])\n\tkmovq %%k3, 64(%[o])\n\tkmovq %%k4, 192(%[o])\n\t"                        \
  "kmovq %%k5, 256(%[o])\n\tkmovq %%k6, 320(%[o])\n\tkmovq %%k7, 384(%[o])\n\t"
#define ZR_OPS(i, bc)                                                                              \
  i " %{rn-sae%}, %%zmm2, %%zmm1, %%zmm0\n\t" i " %{rd-sae%}, %%zmm18, %%zmm17, %%zmm16" K1 "\n\t"  \
  i " %{ru-sae%}, %%zmm2, %%zmm17, %%zmm24" K1 Z "\n\t" i " %{rz-sae%}, %%zmm2, %%zmm1, %%zmm4\n\t" \
  Z_SAVE
#define ZR2_OPS(i, bc)                                                                             \
  i " %{rn-sae%}, %%zmm2, %%zmm0\n\t" i " %{rd-sae%}, %%zmm18, %%zmm16" K1 "\n\t"                   \
  i " %{ru-sae%}, %%zmm2, %%zmm24" K1 Z "\n\t" i " %{rz-sae%}, %%zmm2, %%zmm4\n\t" Z_SAVE
#define ZC_OPS(i, bc)                                                                              \
  i " %%zmm1, %%zmm0" K1 "\n\t" i " %%zmm17, %%zmm16" K1 Z "\n\t"                                   \
  "vmovdqu64 %%zmm0, 0(%[o])\n\tvmovdqu64 %%zmm16, 64(%[o])\n\t"                                    \
  i " %%zmm1, 128(%[o])" K1 "\n\t" i " %%ymm17, %%ymm20" K1 "\n\t"                                  \
  "vmovdqu64 %%zmm20, 320(%[o])\n\t" i " %%xmm1, 384(%[o])" K1 "\n\t"
#define ZS_OPS(i, bc)                                                                              \
  i " %%zmm1, 0(%[o])" K1 "\n\t" i " %%ymm17, 64(%[o])" K1 "\n\t" i " %%xmm1, 128(%[o])" K1 "\n\t"  \
  i " (%[b]), %%zmm4" K1 Z "\n\t" i " (%[b]), %%zmm5" K1 "\n\t"                                     \
  "vmovdqu64 %%zmm4, 192(%[o])\n\tvmovdqu64 %%zmm5, 256(%[o])\n\t"

#define Z_SLOTS 7

#define Z_RUN(name, insn, shape, bc)                                                               \
  AVX512 static void run_##name(const vreg *a, const vreg *b, const vreg *c, const uint64_t *k,   \
                                vreg *o, uint32_t *mx) {                                           \
    for (int s = 0; s < Z_SLOTS; s++)                                                              \
      o[s] = *c;                                                                                   \
    __asm__ volatile(Z_LOAD "ldmxcsr (%[mx])\n\t" shape##_OPS(insn, bc)                            \
                     "stmxcsr (%[mx])\n\tldmxcsr (%[def])\n\tvzeroupper\n\t"                       \
                     :                                                                             \
                     : [a] "r"(a), [b] "r"(b), [c] "r"(c), [k] "r"(k), [o] "r"(o), [mx] "r"(mx),   \
                       [def] "r"(&mxcsr_default)                                                   \
                     : "memory", "xmm0", "xmm1", "xmm2", "xmm4", "xmm5", "xmm6", "xmm16", "xmm17",  \
                       "xmm18", "xmm20", "xmm24", "k1", "k2", "k3", "k4", "k5", "k6", "k7");        \
  }

/* A random opmask: random bits, all ones, none, or a single run. */
static inline uint64_t kmask(void) {
  uint64_t r = rnd_below(8);
  if (r == 0)
    return ~0ull;
  if (r == 1)
    return 0;
  if (r == 2)
    return (~0ull >> rnd_below(64)) << rnd_below(8);
  return rnd64();
}

#define Z_FAMILY(name, insn, shape, bc, gen_a, gen_b)                                              \
  Z_RUN(name, insn, shape, bc)                                                                     \
  static void test_##name(void) {                                                                  \
    if (!family(#name))                                                                            \
      return;                                                                                      \
    static vreg o[Z_SLOTS];                                                                        \
    char h0[130];                                                                                  \
    for (int i = 0; i < AVX_CASES; i++) {                                                          \
      vreg a = vr(64, gen_a), b = vr(64, gen_b), c = vr(64, gen_a);                                \
      uint64_t k = kmask();                                                                        \
      uint32_t mx = mxcsr_in(), mx_in = mx;                                                        \
      run_##name(&a, &b, &c, &k, o, &mx);                                                          \
      uint64_t in = fnv_bytes(fnv_bytes(fnv_bytes(FNV_INIT, &a, 64), &b, 64), &c, 64);             \
      out("in=%016" PRIx64 " k=%016" PRIx64 " mx=%04x: %s %016" PRIx64 " %016" PRIx64 " %016" PRIx64 \
          " %016" PRIx64 " %016" PRIx64 " %016" PRIx64 " mx=%02x",                                  \
          in, k, mx_in, vhex(h0, &o[0], 64), fnv_bytes(FNV_INIT, &o[1], 64),                        \
          fnv_bytes(FNV_INIT, &o[2], 64), fnv_bytes(FNV_INIT, &o[3], 64),                           \
          fnv_bytes(FNV_INIT, &o[4], 64), fnv_bytes(FNV_INIT, &o[5], 64),                           \
          fnv_bytes(FNV_INIT, &o[6], 64), mx & 0x3f);                                               \
    }                                                                                              \
    family_end();                                                                                  \
  }

#define Z_CALL(name, ...) test_##name();

#define Z_REQUIRE (CPU_AVX | CPU_AVX2 | CPU_AVX512F | CPU_AVX512BW | CPU_AVX512DQ | CPU_AVX512CD | CPU_AVX512VL)

#endif
