/* insn_avx2.c - AVX2 integer instructions on ymm: add/sub (wrapping and
 * saturating), multiplies, sad, packs and unpacks (per 128-bit lane),
 * compares, logic, averages, min/max, sign/abs, horizontal add/sub,
 * pshufb, palignr, shifts by xmm count, by immediate and per lane
 * (vpsllv/vpsrlv/vpsrav, including counts past the lane width),
 * vpermd/vpermps/vpermq/vpermpd, vperm2i128, vinserti128/vextracti128,
 * vpblendd/vpblendw/vpblendvb, broadcasts from registers and memory,
 * sign/zero extensions, vpmaskmovd/q loads and stores, and the gathers
 * (vpgatherdd/dq/qd/qq, vgatherdps/dpd/qps/qpd) with random masks, whose
 * mask register is cleared as elements complete. */
#include "insn_avx.h"

#define AVX2_OPS(X)                                                                                 \
  X(vpaddb, "vpaddb", Y3, vec_int, vec_int) X(vpaddw, "vpaddw", Y3, vec_int, vec_int)               \
  X(vpaddd, "vpaddd", Y3, vec_int, vec_int) X(vpaddq, "vpaddq", Y3, vec_int, vec_int)               \
  X(vpsubb, "vpsubb", Y3, vec_int, vec_int) X(vpsubq, "vpsubq", Y3, vec_int, vec_int)               \
  X(vpaddsb, "vpaddsb", Y3, vec_int, vec_int) X(vpaddusw, "vpaddusw", Y3, vec_int, vec_int)         \
  X(vpsubsw, "vpsubsw", Y3, vec_int, vec_int) X(vpsubusb, "vpsubusb", Y3, vec_int, vec_int)         \
  X(vpmullw, "vpmullw", Y3, vec_int, vec_int) X(vpmulld, "vpmulld", Y3, vec_int, vec_int)           \
  X(vpmulhw, "vpmulhw", Y3, vec_int, vec_int) X(vpmulhuw, "vpmulhuw", Y3, vec_int, vec_int)         \
  X(vpmuldq, "vpmuldq", Y3, vec_int, vec_int) X(vpmuludq, "vpmuludq", Y3, vec_int, vec_int)         \
  X(vpmulhrsw, "vpmulhrsw", Y3, vec_int, vec_int) X(vpmaddwd, "vpmaddwd", Y3, vec_int, vec_int)     \
  X(vpmaddubsw, "vpmaddubsw", Y3, vec_int, vec_int) X(vpsadbw, "vpsadbw", Y3, vec_int, vec_int)     \
  X(vmpsadbw_2d, "vmpsadbw $0x2d,", Y3, vec_int, vec_int)                                           \
  X(vpacksswb, "vpacksswb", Y3, vec_int, vec_int) X(vpackssdw, "vpackssdw", Y3, vec_int, vec_int)   \
  X(vpackuswb, "vpackuswb", Y3, vec_int, vec_int) X(vpackusdw, "vpackusdw", Y3, vec_int, vec_int)   \
  X(vpunpcklbw, "vpunpcklbw", Y3, vec_int, vec_int) X(vpunpckhwd, "vpunpckhwd", Y3, vec_int, vec_int) \
  X(vpunpckldq, "vpunpckldq", Y3, vec_int, vec_int) X(vpunpckhqdq, "vpunpckhqdq", Y3, vec_int, vec_int) \
  X(vpcmpeqb, "vpcmpeqb", Y3, vec_int, vec_int) X(vpcmpeqq, "vpcmpeqq", Y3, vec_int, vec_int)       \
  X(vpcmpgtw, "vpcmpgtw", Y3, vec_int, vec_int) X(vpcmpgtq, "vpcmpgtq", Y3, vec_int, vec_int)       \
  X(vpand, "vpand", Y3, vec_int, vec_int) X(vpandn, "vpandn", Y3, vec_int, vec_int)                 \
  X(vpor, "vpor", Y3, vec_int, vec_int) X(vpxor, "vpxor", Y3, vec_int, vec_int)                     \
  X(vpavgb, "vpavgb", Y3, vec_int, vec_int) X(vpavgw, "vpavgw", Y3, vec_int, vec_int)               \
  X(vpmaxsb, "vpmaxsb", Y3, vec_int, vec_int) X(vpmaxuw, "vpmaxuw", Y3, vec_int, vec_int)           \
  X(vpminsd, "vpminsd", Y3, vec_int, vec_int) X(vpminud, "vpminud", Y3, vec_int, vec_int)           \
  X(vpsignb, "vpsignb", Y3, vec_int, vec_int) X(vpsignd, "vpsignd", Y3, vec_int, vec_int)           \
  X(vpabsb, "vpabsb", Y2, vec_int, vec_int) X(vpabsd, "vpabsd", Y2, vec_int, vec_int)               \
  X(vphaddw, "vphaddw", Y3, vec_int, vec_int) X(vphaddsw, "vphaddsw", Y3, vec_int, vec_int)         \
  X(vphsubd, "vphsubd", Y3, vec_int, vec_int) X(vpshufb, "vpshufb", Y3, vec_int, vec_int)           \
  X(vpalignr_5, "vpalignr $5,", Y3, vec_int, vec_int) X(vpalignr_13, "vpalignr $19,", Y3, vec_int, vec_int) \
  X(vpshufd_1b, "vpshufd $0x1b,", Y2, vec_int, vec_int) X(vpshufhw_b1, "vpshufhw $0xb1,", Y2, vec_int, vec_int) \
  X(vpsllw, "vpsllw", YX3, vec_int, vec_count) X(vpsrld, "vpsrld", YX3, vec_int, vec_count)         \
  X(vpsrlq, "vpsrlq", YX3, vec_int, vec_count) X(vpsraw, "vpsraw", YX3, vec_int, vec_count)         \
  X(vpsrad, "vpsrad", YX3, vec_int, vec_count)                                                      \
  X(vpsllvd, "vpsllvd", Y3, vec_int, vec_counts) X(vpsllvq, "vpsllvq", Y3, vec_int, vec_counts)     \
  X(vpsrlvd, "vpsrlvd", Y3, vec_int, vec_counts) X(vpsrlvq, "vpsrlvq", Y3, vec_int, vec_counts)     \
  X(vpsravd, "vpsravd", Y3, vec_int, vec_counts) X(vpsllvd_x, "vpsllvd", X3, vec_int, vec_counts)   \
  X(vpsrlvq_x, "vpsrlvq", X3, vec_int, vec_counts) X(vpsravd_x, "vpsravd", X3, vec_int, vec_counts) \
  X(vpermd, "vpermd", Y3, vec_int, vec_int) X(vpermps, "vpermps", Y3, vec_int, vec_f32)             \
  X(vpermq_1b, "vpermq $0x1b,", Y2, vec_int, vec_int) X(vpermq_d8, "vpermq $0xd8,", Y2, vec_int, vec_int) \
  X(vpermpd_4e, "vpermpd $0x4e,", Y2, vec_f64, vec_f64) X(vpermpd_00, "vpermpd $0,", Y2, vec_f64, vec_f64) \
  X(vperm2i128_20, "vperm2i128 $0x20,", Y3, vec_int, vec_int) X(vperm2i128_03, "vperm2i128 $0x03,", Y3, vec_int, vec_int) \
  X(vperm2i128_81, "vperm2i128 $0x81,", Y3, vec_int, vec_int)                                       \
  X(vinserti128_1, "vinserti128 $1,", YX3, vec_int, vec_int) X(vextracti128_1, "vextracti128 $1,", XYE, vec_int, vec_int) \
  X(vpblendd_96, "vpblendd $0x96,", Y3, vec_int, vec_int) X(vpblendd_x, "vpblendd $0x5,", X3, vec_int, vec_int) \
  X(vpblendw_3c, "vpblendw $0x3c,", Y3, vec_int, vec_int) X(vpblendvb, "vpblendvb", Y4, vec_int, vec_int) \
  X(vpbroadcastb, "vpbroadcastb", YX2, vec_int, vec_int) X(vpbroadcastw, "vpbroadcastw", YX2, vec_int, vec_int) \
  X(vpbroadcastd, "vpbroadcastd", YX2, vec_int, vec_int) X(vpbroadcastq, "vpbroadcastq", YX2, vec_int, vec_int) \
  X(vpbroadcastb_x, "vpbroadcastb", X2, vec_int, vec_int) X(vbroadcastss_r, "vbroadcastss", YX2, vec_f32, vec_f32) \
  X(vbroadcastsd_r, "vbroadcastsd", YX2, vec_f64, vec_f64) X(vbroadcasti128, "vbroadcasti128", YM, vec_int, vec_int) \
  X(vpmovsxbw, "vpmovsxbw", YX2, vec_int, vec_int) X(vpmovzxbd, "vpmovzxbd", YX2, vec_int, vec_int) \
  X(vpmovsxwq, "vpmovsxwq", YX2, vec_int, vec_int) X(vpmovzxdq, "vpmovzxdq", YX2, vec_int, vec_int) \
  X(vpmaskmovd_ld, "vpmaskmovd", YL, vec_int, vec_int) X(vpmaskmovq_ld, "vpmaskmovq", YL, vec_int, vec_int) \
  X(vpmaskmovd_ldx, "vpmaskmovd", XL, vec_int, vec_int) X(vpmaskmovd_st, "vpmaskmovd", YS, vec_int, vec_int) \
  X(vpmaskmovq_st, "vpmaskmovq", YS, vec_int, vec_int) X(vpmaskmovq_stx, "vpmaskmovq", XS, vec_int, vec_int)

AVX2_OPS(AVX_FAMILY)

/* Shifts by immediate have no memory form: several counts, register only. */
#define IMM_SHIFTS(X)                                                                               \
  X("vpsllw", 0) X("vpsllw", 15) X("vpsllw", 16) X("vpsrlw", 7) X("vpsraw", 17) X("vpslld", 31)      \
  X("vpsrld", 1) X("vpsrad", 31) X("vpsrad", 40) X("vpsllq", 63) X("vpsrlq", 64) X("vpslldq", 3)     \
  X("vpsrldq", 15) X("vpsrldq", 16)

static void test_imm_shifts(void) {
  if (!family("shift_imm"))
    return;
  for (int i = 0; i < AVX_CASES; i++) {
    vreg a = vr(32, vec_int), r;
    uint64_t h = FNV_INIT;
#define IMM_SHIFT(insn, n)                                                                          \
  __asm__ volatile("vmovdqu (%[a]), %%ymm0\n\t" insn " $" #n ", %%ymm0, %%ymm1\n\t"                  \
                   "vmovdqu %%ymm1, (%[r])\n\tvzeroupper\n\t"                                       \
                   :                                                                                \
                   : [a] "r"(&a), [r] "r"(&r)                                                       \
                   : "memory", "xmm0", "xmm1");                                                     \
  h = fnv_bytes(h, &r, 32);
    IMM_SHIFTS(IMM_SHIFT)
    out("a=%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 ": %016" PRIx64, a.q[3], a.q[2],
        a.q[1], a.q[0], h);
  }
  family_end();
}

/* Gathers: base points into a table of random elements; indices are mostly
 * in range (some negative, scale 1/2/4/8); the mask's sign bits choose the
 * elements; printed are the destination and the mask afterwards (all zero
 * when no fault happened). */
#define GATHERS(X)                                                                                  \
  X(vpgatherdd, "vpgatherdd", "ymm", "ymm", 4, 4) X(vpgatherdq, "vpgatherdq", "ymm", "xmm", 8, 4)    \
  X(vpgatherqd, "vpgatherqd", "xmm", "ymm", 4, 8) X(vpgatherqq, "vpgatherqq", "ymm", "ymm", 8, 8)    \
  X(vgatherdps, "vgatherdps", "ymm", "ymm", 4, 4) X(vgatherdpd, "vgatherdpd", "ymm", "xmm", 8, 4)    \
  X(vgatherqps, "vgatherqps", "xmm", "ymm", 4, 8) X(vgatherqpd, "vgatherqpd", "ymm", "ymm", 8, 8)    \
  X(vpgatherdd_x, "vpgatherdd", "xmm", "xmm", 4, 4) X(vpgatherqq_x, "vpgatherqq", "xmm", "xmm", 8, 8)

static uint8_t gather_table[1024] __attribute__((aligned(64)));

/* Index lanes of `isz` bytes scaled by `scale` that stay within
 * gather_table around its middle. */
static vreg gather_index(int isz, int scale) {
  vreg v = vr(32, vec_int);
  for (int k = 0; k < 32 / isz; k++) {
    int64_t ix = ((int64_t)rnd_below(1024 / (unsigned)scale - 8) - (512 / scale)) ;
    if (isz == 4)
      v.d[k] = (uint32_t)ix;
    else
      v.q[k] = (uint64_t)ix;
  }
  return v;
}

#define GATHER(name, insn, dreg, ireg, esz, isz)                                                    \
  static void test_##name(void) {                                                                   \
    if (!family(#name))                                                                             \
      return;                                                                                       \
    char hd[130], hm[130], hi[130];                                                                 \
    for (int i = 0; i < AVX_CASES; i++) {                                                           \
      for (unsigned k = 0; k < sizeof gather_table; k++)                                            \
        gather_table[k] = (uint8_t)rnd64();                                                         \
      int scale = 1 << rnd_below(4);                                                                \
      vreg ix = gather_index(isz, scale), d = vr(32, vec_int), mask = vr(32, vec_int);              \
      const uint8_t *base = gather_table + 512;                                                     \
      if (scale == 1)                                                                               \
        GATHER_ASM(insn, dreg, ireg, 1);                                                            \
      else if (scale == 2)                                                                          \
        GATHER_ASM(insn, dreg, ireg, 2);                                                            \
      else if (scale == 4)                                                                          \
        GATHER_ASM(insn, dreg, ireg, 4);                                                            \
      else                                                                                          \
        GATHER_ASM(insn, dreg, ireg, 8);                                                            \
      out("ix=%s s=%d table=%016" PRIx64 ": %s mask %s", vhex(hi, &ix, 32), scale,                  \
          fnv_bytes(FNV_INIT, gather_table, sizeof gather_table), vhex(hd, &d, 32),                 \
          vhex(hm, &mask, 32));                                                                     \
    }                                                                                               \
    family_end();                                                                                   \
  }
#define GATHER_ASM(insn, dreg, ireg, s)                                                             \
  __asm__ volatile("vmovdqu (%[d]), %%ymm0\n\tvmovdqu (%[ix]), %%ymm1\n\tvmovdqu (%[m]), %%ymm2\n\t" \
                   insn " %%" dreg "2, (%[base], %%" ireg "1, " #s "), %%" dreg "0\n\t"             \
                   "vmovdqu %%ymm0, (%[d])\n\tvmovdqu %%ymm2, (%[m])\n\tvzeroupper\n\t"             \
                   :                                                                                \
                   : [d] "r"(&d), [ix] "r"(&ix), [m] "r"(&mask), [base] "r"(base)                   \
                   : "memory", "xmm0", "xmm1", "xmm2")

GATHERS(GATHER)

int main(int argc, char **argv) {
  insn_init(argc, argv);
  if (!require(CPU_AVX | CPU_AVX2))
    return 0;
  AVX2_OPS(AVX_CALL)
  test_imm_shifts();
#define GATHER_CALL(name, ...) test_##name();
  GATHERS(GATHER_CALL)
  return 0;
}
