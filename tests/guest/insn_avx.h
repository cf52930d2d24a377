/* insn_avx.h - machinery for the VEX and EVEX instruction-family programs
 * (AVX, AVX2, FMA, F16C, AVX-512).
 *
 * Host features: require() checks CPUID (and XCR0 through XGETBV for the
 * register state) and prints "skipped: host lacks X" for each missing
 * feature, so a program prints the same natively and under an emulator
 * whose CPU model matches the host.
 *
 * Table rows X(name, insn, shape, gen_a, gen_b) generate one family each.
 * The shape names the operand pattern and register width; every case runs
 * the register form and the memory form (second source from memory) with
 * the same inputs under a random MXCSR (rounding mode, sometimes DAZ/FTZ),
 * every register preloaded with random bits. The whole destination
 * register is printed, so the zeroing of the bits above a VEX.128 or
 * VEX.256 result is checked too:
 *   X3/Y3  "insn b, a, dst"              (xmm/ymm)
 *   X2/Y2  "insn b, dst"                 (unary: dst's old bits are random)
 *   YX2    "insn xmm b, ymm dst"         (widening: vcvtps2pd, broadcasts)
 *   XY2    "insn ymm b, xmm dst"         (narrowing; insn carries a "y" suffix)
 *   X4/Y4  "insn d, b, a, dst"           (vblendv: d is the selector)
 *   YX3    "insn xmm b, ymm a, ymm dst"  (vinsertf128)
 *   XL/YL  "insn (b), a-as-mask, dst"    (masked loads: no register form)
 *   XM/YM  "insn (b), dst"               (memory-only sources: vbroadcastf128)
 *   XYE/XXE "insn b, xmm dst" and "insn b, (mem)" (vextractf128, vcvtps2ph)
 *   XS/YS  "insn a, b-as-mask, (mem)"    (masked stores)
 * In a store shape the register form is absent and "reg" is the stored
 * memory, which starts out as c; so does the memory result of a shape
 * without a memory form. */
#ifndef TERN_INSN_AVX_H
#define TERN_INSN_AVX_H

#include <cpuid.h>

#include "insn_common.h"

#define AVX_CASES 400

/* A register image up to zmm size; ymm programs use the first 32 bytes. */
typedef union {
  uint8_t b[64];
  uint16_t w[32];
  uint32_t d[16];
  uint64_t q[8];
  float f[16];
  double df[8];
} __attribute__((aligned(64))) vreg;

/* ---- host features ---- */

enum {
  CPU_AVX = 1 << 0,
  CPU_AVX2 = 1 << 1,
  CPU_FMA = 1 << 2,
  CPU_BMI1 = 1 << 3,
  CPU_BMI2 = 1 << 4,
  CPU_F16C = 1 << 5,
  CPU_LZCNT = 1 << 6,
  CPU_MOVBE = 1 << 7,
  CPU_AVX512F = 1 << 8,
  CPU_AVX512BW = 1 << 9,
  CPU_AVX512DQ = 1 << 10,
  CPU_AVX512CD = 1 << 11,
  CPU_AVX512VL = 1 << 12,
};

/* Feature bit, name, CPUID leaf, register (0=ebx 1=ecx 2=edx), bit, and
 * the XCR0 state components the feature needs enabled. */
static const struct {
  unsigned bit;
  const char *name;
  unsigned leaf, reg, pos;
  uint64_t xcr0;
} cpu_features[] = {
    {CPU_AVX, "avx", 1, 1, 28, 0x6},
    {CPU_AVX2, "avx2", 7, 0, 5, 0x6},
    {CPU_FMA, "fma", 1, 1, 12, 0x6},
    {CPU_BMI1, "bmi1", 7, 0, 3, 0},
    {CPU_BMI2, "bmi2", 7, 0, 8, 0},
    {CPU_F16C, "f16c", 1, 1, 29, 0x6},
    {CPU_LZCNT, "lzcnt", 0x80000001u, 1, 5, 0},
    {CPU_MOVBE, "movbe", 1, 1, 22, 0},
    {CPU_AVX512F, "avx512f", 7, 0, 16, 0xe6},
    {CPU_AVX512BW, "avx512bw", 7, 0, 30, 0xe6},
    {CPU_AVX512DQ, "avx512dq", 7, 0, 17, 0xe6},
    {CPU_AVX512CD, "avx512cd", 7, 0, 28, 0xe6},
    {CPU_AVX512VL, "avx512vl", 7, 0, 31, 0xe6},
};

static inline uint64_t host_xcr0(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) /* OSXSAVE */
    return 0;
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}

static inline int host_has_one(unsigned i) {
  unsigned r[3] = {0, 0, 0}, a = 0, d = 0;
  if (!__get_cpuid_count(cpu_features[i].leaf, 0, &a, &r[0], &r[1], &d))
    return 0;
  r[2] = d;
  if (!(r[cpu_features[i].reg] >> cpu_features[i].pos & 1))
    return 0;
  return (host_xcr0() & cpu_features[i].xcr0) == cpu_features[i].xcr0;
}

/* Prints a "skipped" line per feature of `mask` the host lacks; returns
 * whether it has them all. */
static inline int require(unsigned mask) {
  int ok = 1;
  for (unsigned i = 0; i < sizeof cpu_features / sizeof cpu_features[0]; i++)
    if ((mask & cpu_features[i].bit) && !host_has_one(i)) {
      printf("skipped: host lacks %s\n", cpu_features[i].name);
      ok = 0;
    }
  return ok;
}

/* ---- operands ---- */

/* Fills `bytes` of v from a 16-byte generator. */
static inline void fill(vreg *v, int bytes, vec128 (*gen)(void)) {
  for (int k = 0; k < bytes; k += 16) {
    vec128 x = gen();
    memcpy(v->b + k, &x, 16);
  }
}

static inline vreg vr(int bytes, vec128 (*gen)(void)) {
  vreg v;
  for (int k = 0; k < 64; k += 8) {
    uint64_t x = rnd64();
    memcpy(v.b + k, &x, 8);
  }
  fill(&v, bytes, gen);
  return v;
}

/* Shift counts in the low quadword (0..70, sometimes huge). */
static inline vec128 vec_count(void) {
  vec128 v = vec_int();
  v.q[0] = rnd_below(8) ? rnd_below(71) : rnd64();
  return v;
}

/* Per-lane variable shift counts for 32 and 64-bit lanes: mostly in range. */
static inline vec128 vec_counts(void) {
  vec128 v = vec_int();
  for (int k = 0; k < 4; k++)
    if (rnd_below(4))
      v.d[k] = (uint32_t)rnd_below(70);
  return v;
}

static inline vec128 vec_any(void) {
  uint64_t r = rnd_below(3);
  return r == 0 ? vec_f32() : r == 1 ? vec_f64() : vec_int();
}

/* A random MXCSR: default masks, any rounding mode, 1 in 4 with DAZ or FTZ. */
static inline uint32_t mxcsr_in(void) {
  uint32_t mx = 0x1f80u | (uint32_t)(rnd_below(4) << 13);
  if (!rnd_below(4))
    mx |= 0x40; /* DAZ */
  if (!rnd_below(4))
    mx |= 0x8000; /* FTZ */
  return mx;
}

static const uint32_t mxcsr_default = 0x1f80u;

/* Hex of the first `bytes` of v, most significant first, into s. */
static inline const char *vhex(char *s, const vreg *v, int bytes) {
  for (int k = bytes - 1, n = 0; k >= 0; k--, n += 2)
    sprintf(s + n, "%02x", v->b[k]);
  return s;
}

/* ---- operand shapes (see the top of the file) ---- */

#define AVX_LOAD                                                                              \
  "vmovdqu (%[c]), %%ymm0\n\tvmovdqu (%[a]), %%ymm1\n\tvmovdqu (%[b]), %%ymm2\n\t"            \
  "vmovdqu (%[d]), %%ymm3\n\tvmovdqu (%[c]), %%ymm4\n\t"
#define AVX_SAVE "vmovdqu %%ymm0, (%[r])\n\tvmovdqu %%ymm4, (%[m])\n\t"

#define X3_OPS(i) i " %%xmm2, %%xmm1, %%xmm0\n\t" i " (%[b]), %%xmm1, %%xmm4\n\t" AVX_SAVE
#define Y3_OPS(i) i " %%ymm2, %%ymm1, %%ymm0\n\t" i " (%[b]), %%ymm1, %%ymm4\n\t" AVX_SAVE
#define X2_OPS(i) i " %%xmm2, %%xmm0\n\t" i " (%[b]), %%xmm4\n\t" AVX_SAVE
#define Y2_OPS(i) i " %%ymm2, %%ymm0\n\t" i " (%[b]), %%ymm4\n\t" AVX_SAVE
#define YX2_OPS(i) i " %%xmm2, %%ymm0\n\t" i " (%[b]), %%ymm4\n\t" AVX_SAVE
#define XY2_OPS(i) i " %%ymm2, %%xmm0\n\t" i " (%[b]), %%xmm4\n\t" AVX_SAVE
#define X4_OPS(i) i " %%xmm3, %%xmm2, %%xmm1, %%xmm0\n\t" i " %%xmm3, (%[b]), %%xmm1, %%xmm4\n\t" AVX_SAVE
#define Y4_OPS(i) i " %%ymm3, %%ymm2, %%ymm1, %%ymm0\n\t" i " %%ymm3, (%[b]), %%ymm1, %%ymm4\n\t" AVX_SAVE
#define YX3_OPS(i) i " %%xmm2, %%ymm1, %%ymm0\n\t" i " (%[b]), %%ymm1, %%ymm4\n\t" AVX_SAVE
/* Loads with a mask and no register form: vmaskmov, vpmaskmov. */
#define XL_OPS(i) i " (%[b]), %%xmm1, %%xmm0\n\t" AVX_SAVE
#define YL_OPS(i) i " (%[b]), %%ymm1, %%ymm0\n\t" AVX_SAVE
/* Memory-only unary sources: vbroadcastss/sd/f128. */
#define YM_OPS(i) i " (%[b]), %%ymm0\n\t" AVX_SAVE
#define XM_OPS(i) i " (%[b]), %%xmm0\n\t" AVX_SAVE
/* Narrowing with a register or a memory destination: vextractf128, vcvtps2ph. */
#define XYE_OPS(i) i " %%ymm2, %%xmm0\n\t" i " %%ymm2, (%[m])\n\tvmovdqu %%ymm0, (%[r])\n\t"
#define XXE_OPS(i) i " %%xmm2, %%xmm0\n\t" i " %%xmm2, (%[m])\n\tvmovdqu %%ymm0, (%[r])\n\t"
#define XS_OPS(i) i " %%xmm1, %%xmm2, (%[r])\n\t" "vmovdqu %%ymm4, (%[m])\n\t"
#define YS_OPS(i) i " %%ymm1, %%ymm2, (%[r])\n\t" "vmovdqu %%ymm4, (%[m])\n\t"

/* Runs one shape: a, b, c (destination's old value, and the stored-to
 * memory for store shapes), d (fourth operand); r and m get the register
 * and memory forms' results; *mx is loaded before and stored after. */
#define AVX_RUN(name, insn, shape)                                                            \
  static void run_##name(const vreg *a, const vreg *b, const vreg *c, const vreg *d, vreg *r, \
                         vreg *m, uint32_t *mx) {                                             \
    *r = *c, *m = *c;                                                                                \
    __asm__ volatile(AVX_LOAD "ldmxcsr (%[mx])\n\t" shape##_OPS(insn)                         \
                     "stmxcsr (%[mx])\n\tldmxcsr (%[def])\n\tvzeroupper\n\t"                  \
                     :                                                                        \
                     : [a] "r"(a), [b] "r"(b), [c] "r"(c), [d] "r"(d), [r] "r"(r), [m] "r"(m), \
                       [mx] "r"(mx), [def] "r"(&mxcsr_default)                                \
                     : "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4");                     \
  }

#define AVX_FAMILY(name, insn, shape, gen_a, gen_b)                                          \
  AVX_RUN(name, insn, shape)                                                                  \
  static void test_##name(void) {                                                             \
    if (!family(#name))                                                                       \
      return;                                                                                 \
    char ha[130], hb[130], hc[130], hd[130], hr[130], hm[130];                                \
    for (int i = 0; i < AVX_CASES; i++) {                                                     \
      vreg a = vr(32, gen_a), b = vr(32, gen_b), c = vr(32, gen_a), d = vr(32, vec_int), r, m; \
      uint32_t mx = mxcsr_in(), mx_in = mx;                                                   \
      run_##name(&a, &b, &c, &d, &r, &m, &mx);                                                \
      int same = !memcmp(&r, &m, 32);                                                         \
      out("a=%s b=%s c=%s d=%s mx=%04x: %s mem %s mx=%02x", vhex(ha, &a, 32), vhex(hb, &b, 32), \
          vhex(hc, &c, 32), vhex(hd, &d, 32), mx_in, vhex(hr, &r, 32),              \
          same ? "same" : vhex(hm, &m, 32), mx & 0x3f);                                       \
    }                                                                                         \
    family_end();                                                                             \
  }

#define AVX_CALL(name, ...) test_##name();

#endif
