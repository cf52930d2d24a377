/* insn_avx_float.c - AVX floating point on ymm (and VEX.128 xmm, whose
 * upper bits must be zeroed): packed and scalar arithmetic, horizontal
 * and alternating add/sub, logic, rounding, dot products, compares with
 * all 32 predicates, blends (immediate and variable), shuffles, unpacks,
 * vpermilps/pd (immediate and variable), vperm2f128, conversions,
 * vbroadcastss/sd/f128 from memory, vinsertf128/vextractf128, vmaskmov
 * loads and stores, vmovmsk, vtestps/pd and vptest flags, and the effect
 * of vzeroupper/vzeroall on every register's upper half. */
#include "insn_avx.h"

/* The 32 compare predicates as rows: name##_<pred>, "insn $pred,". */
#define PRED8(X, n, i, s, g, b) X(n##_##b##0, i " $" #b "0,", s, g, g) X(n##_##b##1, i " $" #b "1,", s, g, g) \
  X(n##_##b##2, i " $" #b "2,", s, g, g) X(n##_##b##3, i " $" #b "3,", s, g, g)                         \
  X(n##_##b##4, i " $" #b "4,", s, g, g) X(n##_##b##5, i " $" #b "5,", s, g, g)                         \
  X(n##_##b##6, i " $" #b "6,", s, g, g) X(n##_##b##7, i " $" #b "7,", s, g, g)
#define PRED32(X, n, i, s, g) PRED8(X, n, i, s, g, 0) PRED8(X, n, i, s, g, 1) PRED8(X, n, i, s, g, 2) \
  PRED8(X, n, i, s, g, 3)

#define AVX_FLOAT_OPS(X)                                                                        \
  X(vaddps, "vaddps", Y3, vec_f32, vec_f32) X(vsubps, "vsubps", Y3, vec_f32, vec_f32)           \
  X(vmulps, "vmulps", Y3, vec_f32, vec_f32) X(vdivps, "vdivps", Y3, vec_f32, vec_f32)           \
  X(vminps, "vminps", Y3, vec_f32, vec_f32) X(vmaxps, "vmaxps", Y3, vec_f32, vec_f32)           \
  X(vaddpd, "vaddpd", Y3, vec_f64, vec_f64) X(vsubpd, "vsubpd", Y3, vec_f64, vec_f64)           \
  X(vmulpd, "vmulpd", Y3, vec_f64, vec_f64) X(vdivpd, "vdivpd", Y3, vec_f64, vec_f64)           \
  X(vminpd, "vminpd", Y3, vec_f64, vec_f64) X(vmaxpd, "vmaxpd", Y3, vec_f64, vec_f64)           \
  X(vaddps_x, "vaddps", X3, vec_f32, vec_f32) X(vmulpd_x, "vmulpd", X3, vec_f64, vec_f64)       \
  X(vaddsubps, "vaddsubps", Y3, vec_f32, vec_f32) X(vaddsubpd, "vaddsubpd", Y3, vec_f64, vec_f64) \
  X(vhaddps, "vhaddps", Y3, vec_f32, vec_f32) X(vhaddpd, "vhaddpd", Y3, vec_f64, vec_f64)       \
  X(vhsubps, "vhsubps", Y3, vec_f32, vec_f32) X(vhsubpd, "vhsubpd", Y3, vec_f64, vec_f64)       \
  X(vandps, "vandps", Y3, vec_any, vec_any) X(vandnps, "vandnps", Y3, vec_any, vec_any)         \
  X(vorpd, "vorpd", Y3, vec_any, vec_any) X(vxorpd, "vxorpd", Y3, vec_any, vec_any)             \
  X(vsqrtps, "vsqrtps", Y2, vec_f32, vec_f32) X(vsqrtpd, "vsqrtpd", Y2, vec_f64, vec_f64)       \
  X(vroundps_0, "vroundps $0,", Y2, vec_f32, vec_f32) X(vroundps_9, "vroundps $9,", Y2, vec_f32, vec_f32) \
  X(vroundpd_4, "vroundpd $4,", Y2, vec_f64, vec_f64) X(vroundpd_b, "vroundpd $0xb,", Y2, vec_f64, vec_f64) \
  X(vdpps_ff, "vdpps $0xff,", Y3, vec_f32, vec_f32) X(vdpps_71, "vdpps $0x71,", Y3, vec_f32, vec_f32) \
  X(vaddss, "vaddss", X3, vec_f32, vec_f32) X(vsubsd, "vsubsd", X3, vec_f64, vec_f64)           \
  X(vmulss, "vmulss", X3, vec_f32, vec_f32) X(vdivsd, "vdivsd", X3, vec_f64, vec_f64)           \
  X(vminss, "vminss", X3, vec_f32, vec_f32) X(vmaxsd, "vmaxsd", X3, vec_f64, vec_f64)           \
  X(vsqrtss, "vsqrtss", X3, vec_f32, vec_f32) X(vsqrtsd, "vsqrtsd", X3, vec_f64, vec_f64)       \
  X(vroundss_2, "vroundss $2,", X3, vec_f32, vec_f32) X(vroundsd_c, "vroundsd $0xc,", X3, vec_f64, vec_f64) \
  X(vcvtss2sd, "vcvtss2sd", X3, vec_f64, vec_f32) X(vcvtsd2ss, "vcvtsd2ss", X3, vec_f32, vec_f64) \
  X(vblendps_a5, "vblendps $0xa5,", Y3, vec_f32, vec_f32) X(vblendpd_6, "vblendpd $6,", Y3, vec_f64, vec_f64) \
  X(vblendvps, "vblendvps", Y4, vec_f32, vec_f32) X(vblendvpd, "vblendvpd", Y4, vec_f64, vec_f64) \
  X(vblendvps_x, "vblendvps", X4, vec_f32, vec_f32)                                             \
  X(vshufps_1b, "vshufps $0x1b,", Y3, vec_f32, vec_f32) X(vshufps_72, "vshufps $0x72,", Y3, vec_f32, vec_f32) \
  X(vshufpd_5, "vshufpd $5,", Y3, vec_f64, vec_f64) X(vshufpd_a, "vshufpd $0xa,", Y3, vec_f64, vec_f64) \
  X(vunpcklps, "vunpcklps", Y3, vec_f32, vec_f32) X(vunpckhps, "vunpckhps", Y3, vec_f32, vec_f32) \
  X(vunpcklpd, "vunpcklpd", Y3, vec_f64, vec_f64) X(vunpckhpd, "vunpckhpd", Y3, vec_f64, vec_f64) \
  X(vpermilps_1b, "vpermilps $0x1b,", Y2, vec_f32, vec_f32) X(vpermilps_d8, "vpermilps $0xd8,", Y2, vec_f32, vec_f32) \
  X(vpermilpd_9, "vpermilpd $9,", Y2, vec_f64, vec_f64) X(vpermilps_v, "vpermilps", Y3, vec_f32, vec_int) \
  X(vpermilpd_v, "vpermilpd", Y3, vec_f64, vec_int) X(vpermilps_vx, "vpermilps", X3, vec_f32, vec_int) \
  X(vperm2f128_20, "vperm2f128 $0x20,", Y3, vec_f32, vec_f32) X(vperm2f128_31, "vperm2f128 $0x31,", Y3, vec_f32, vec_f32) \
  X(vperm2f128_13, "vperm2f128 $0x13,", Y3, vec_f32, vec_f32) X(vperm2f128_8a, "vperm2f128 $0x8a,", Y3, vec_f32, vec_f32) \
  X(vmovshdup, "vmovshdup", Y2, vec_f32, vec_f32) X(vmovsldup, "vmovsldup", Y2, vec_f32, vec_f32) \
  X(vmovddup, "vmovddup", Y2, vec_f64, vec_f64) \
  X(vmovups, "vmovups", Y2, vec_f32, vec_f32)    \
  X(vcvtdq2ps, "vcvtdq2ps", Y2, vec_f32, vec_int) X(vcvtps2dq, "vcvtps2dq", Y2, vec_int, vec_f32) \
  X(vcvttps2dq, "vcvttps2dq", Y2, vec_int, vec_f32) X(vcvtps2pd, "vcvtps2pd", YX2, vec_f64, vec_f32) \
  X(vcvtdq2pd, "vcvtdq2pd", YX2, vec_f64, vec_int) X(vcvtpd2ps, "vcvtpd2psy", XY2, vec_f32, vec_f64) \
  X(vcvtpd2dq, "vcvtpd2dqy", XY2, vec_int, vec_f64) X(vcvttpd2dq, "vcvttpd2dqy", XY2, vec_int, vec_f64) \
  X(vcvtpd2ps_x, "vcvtpd2psx", X2, vec_f32, vec_f64)                                            \
  X(vbroadcastss, "vbroadcastss", YM, vec_f32, vec_f32) X(vbroadcastss_x, "vbroadcastss", XM, vec_f32, vec_f32) \
  X(vbroadcastsd, "vbroadcastsd", YM, vec_f64, vec_f64) X(vbroadcastf128, "vbroadcastf128", YM, vec_f32, vec_f32) \
  X(vinsertf128_0, "vinsertf128 $0,", YX3, vec_f32, vec_f32) X(vinsertf128_1, "vinsertf128 $1,", YX3, vec_f32, vec_f32) \
  X(vextractf128_0, "vextractf128 $0,", XYE, vec_f32, vec_f32) X(vextractf128_1, "vextractf128 $1,", XYE, vec_f32, vec_f32) \
  X(vmaskmovps_ld, "vmaskmovps", YL, vec_int, vec_f32) X(vmaskmovpd_ld, "vmaskmovpd", YL, vec_int, vec_f64) \
  X(vmaskmovps_ldx, "vmaskmovps", XL, vec_int, vec_f32) X(vmaskmovps_st, "vmaskmovps", YS, vec_f32, vec_int) \
  X(vmaskmovpd_st, "vmaskmovpd", YS, vec_f64, vec_int) X(vmaskmovpd_stx, "vmaskmovpd", XS, vec_f64, vec_int) \
  PRED32(X, vcmpps, "vcmpps", Y3, vec_f32) PRED32(X, vcmppd, "vcmppd", Y3, vec_f64)            \
  PRED32(X, vcmpss, "vcmpss", X3, vec_f32) X(vcmpps_x_11, "vcmpps $0x11,", X3, vec_f32, vec_f32) \
  X(vcmpsd_1d, "vcmpsd $0x1d,", X3, vec_f64, vec_f64)

AVX_FLOAT_OPS(AVX_FAMILY)

/* vtestps/vtestpd/vptest (ZF and CF only; the others are cleared), and
 * vmovmskps/pd on ymm. */
static void test_vtest(void) {
  if (!family("vtest_movmsk"))
    return;
  char ha[130], hb[130];
  for (int i = 0; i < 4 * AVX_CASES; i++) {
    vreg a = vr(32, vec_any), b = rnd_below(4) ? vr(32, vec_any) : a;
    if (rnd_below(3) == 0) /* disjoint sign bits or values often enough */
      for (int k = 0; k < 4; k++)
        b.q[k] = rnd_below(2) ? ~a.q[k] : a.q[k] & 0x7fffffff7fffffffull;
    uint64_t fin = flags_in(), f1 = fin, f2 = fin, f3 = fin, f4 = fin, mps, mpd;
    __asm__ volatile("vmovdqu (%[a]), %%ymm0\n\tvmovdqu (%[b]), %%ymm1\n\t"
                     "lea -128(%%rsp), %%rsp\n\t"
                     "pushq %[f1]\n\tpopfq\n\tvtestps %%ymm1, %%ymm0\n\tpushfq\n\tpopq %[f1]\n\t"
                     "pushq %[f2]\n\tpopfq\n\tvtestpd (%[b]), %%ymm0\n\tpushfq\n\tpopq %[f2]\n\t"
                     "pushq %[f3]\n\tpopfq\n\tvptest %%ymm1, %%ymm0\n\tpushfq\n\tpopq %[f3]\n\t"
                     "pushq %[f4]\n\tpopfq\n\tvtestps %%xmm1, %%xmm0\n\tpushfq\n\tpopq %[f4]\n\t"
                     "lea 128(%%rsp), %%rsp\n\t"
                     "vmovmskps %%ymm0, %k[mps]\n\tvmovmskpd %%ymm1, %k[mpd]\n\tvzeroupper\n\t"
                     : [f1] "+r"(f1), [f2] "+r"(f2), [f3] "+r"(f3), [f4] "+r"(f4),
                       [mps] "=&r"(mps), [mpd] "=&r"(mpd)
                     : [a] "r"(&a), [b] "r"(&b)
                     : "memory", "cc", "xmm0", "xmm1");
    out("a=%s b=%s f=%03" PRIx64 ": vtestps %03" PRIx64 " vtestpd %03" PRIx64 " vptest %03" PRIx64
        " vtestps.x %03" PRIx64 " movmskps %02" PRIx64 " movmskpd %" PRIx64,
        vhex(ha, &a, 32), vhex(hb, &b, 32), fin & F_ARITH, f1 & F_ARITH, f2 & F_ARITH,
        f3 & F_ARITH, f4 & F_ARITH, mps, mpd);
  }
  family_end();
}

/* vzeroupper and vzeroall on all 16 registers; also a legacy-SSE write
 * (which keeps the upper half) and a VEX.128 write (which clears it). */
static void test_vzero(void) {
  if (!family("vzero"))
    return;
  static vreg in[16], o[16];
  for (int i = 0; i < AVX_CASES; i++) {
    for (int k = 0; k < 16; k++)
      in[k] = vr(32, vec_any);
    int which = (int)rnd_below(3);
#define LOAD16(n) "vmovdqu " #n "*64(%[in]), %%ymm" #n "\n\t"
#define SAVE16(n) "vmovdqu %%ymm" #n ", " #n "*64(%[o])\n\t"
#define REGS16(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14) M(15)
#define VZ_ASM(op)                                                                                \
  __asm__ volatile(REGS16(LOAD16) op REGS16(SAVE16) "vzeroupper\n\t"                              \
                   :                                                                              \
                   : [in] "r"(in), [o] "r"(o)                                                     \
                   : "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",    \
                     "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15")
    if (which == 0)
      VZ_ASM("vzeroupper\n\t");
    else if (which == 1)
      VZ_ASM("vzeroall\n\t");
    else
      VZ_ASM("addps %%xmm1, %%xmm0\n\tvaddps %%xmm3, %%xmm2, %%xmm2\n\tmovaps %%xmm5, %%xmm4\n\t"
             "vmovaps %%xmm7, %%xmm6\n\tpxor %%xmm8, %%xmm8\n\tvpxor %%xmm9, %%xmm9, %%xmm9\n\t");
    uint64_t h = FNV_INIT;
    for (int k = 0; k < 16; k++)
      h = fnv_bytes(h, &o[k], 32);
    out("op=%d in=%016" PRIx64 ": out=%016" PRIx64 " ymm15 %016" PRIx64 "%016" PRIx64
        "%016" PRIx64 "%016" PRIx64, which, fnv_bytes(FNV_INIT, in, sizeof in), h, o[15].q[3],
        o[15].q[2], o[15].q[1], o[15].q[0]);
  }
  family_end();
}

int main(int argc, char **argv) {
  insn_init(argc, argv);
  if (!require(CPU_AVX))
    return 0;
  AVX_FLOAT_OPS(AVX_CALL)
  test_vtest();
  test_vzero();
  return 0;
}
