/* insn_avx512_float.c - AVX-512 F/DQ/VL floating point with opmasks:
 * arithmetic, sqrt, scalef, getexp/getmant, rndscale, range, reduce,
 * rcp14/rsqrt14, FMA, permutes (vpermt2ps/vpermi2pd/vpermps/vshuff32x4),
 * blends under a mask, conversions (to and from unsigned and 64-bit
 * integers), DQ logic, compares with all 32 predicates into opmask
 * registers, vfpclass, embedded rounding {rn,rd,ru,rz}-sae, embedded
 * broadcasts {1to16}/{1to8}, compress/expand, masked loads and stores;
 * each at zmm (with zmm16-31), ymm and xmm with merge and zero masking
 * (see insn_avx512.h for the forms). */
#include "insn_avx512.h"

#define ZPRED8(X, n, i, g, b) X(n##_##b##0, i " $" #b "0,", ZK, B16, g, g) X(n##_##b##1, i " $" #b "1,", ZK, B16, g, g) \
  X(n##_##b##2, i " $" #b "2,", ZK, B16, g, g) X(n##_##b##3, i " $" #b "3,", ZK, B16, g, g)          \
  X(n##_##b##4, i " $" #b "4,", ZK, B16, g, g) X(n##_##b##5, i " $" #b "5,", ZK, B16, g, g)          \
  X(n##_##b##6, i " $" #b "6,", ZK, B16, g, g) X(n##_##b##7, i " $" #b "7,", ZK, B16, g, g)
#define ZPRED32(X, n, i, g) ZPRED8(X, n, i, g, 0) ZPRED8(X, n, i, g, 1) ZPRED8(X, n, i, g, 2) \
  ZPRED8(X, n, i, g, 3)

#define Z_FLOAT_OPS(X)                                                                                \
  X(vaddps, "vaddps", Z3, B16, vec_f32, vec_f32) X(vsubpd, "vsubpd", Z3, B8, vec_f64, vec_f64)        \
  X(vmulps, "vmulps", Z3, B16, vec_f32, vec_f32) X(vdivpd, "vdivpd", Z3, B8, vec_f64, vec_f64)        \
  X(vminps, "vminps", Z3, B16, vec_f32, vec_f32) X(vmaxpd, "vmaxpd", Z3, B8, vec_f64, vec_f64)        \
  X(vsqrtps, "vsqrtps", Z2, B16, vec_f32, vec_f32) X(vsqrtpd, "vsqrtpd", Z2, B8, vec_f64, vec_f64)    \
  X(vscalefps, "vscalefps", Z3, B16, vec_f32, vec_f32) X(vscalefpd, "vscalefpd", Z3, B8, vec_f64, vec_f64) \
  X(vgetexpps, "vgetexpps", Z2, B16, vec_f32, vec_f32) X(vgetexppd, "vgetexppd", Z2, B8, vec_f64, vec_f64) \
  X(vgetmantps_4, "vgetmantps $4,", Z2, B16, vec_f32, vec_f32)                                        \
  X(vgetmantpd_b, "vgetmantpd $0xb,", Z2, B8, vec_f64, vec_f64)                                       \
  X(vrndscaleps_31, "vrndscaleps $0x31,", Z2, B16, vec_f32, vec_f32)                                  \
  X(vrndscalepd_4, "vrndscalepd $4,", Z2, B8, vec_f64, vec_f64)                                       \
  X(vrangeps_5, "vrangeps $5,", Z3, B16, vec_f32, vec_f32) X(vrangepd_e, "vrangepd $0xe,", Z3, B8, vec_f64, vec_f64) \
  X(vreduceps_12, "vreduceps $0x12,", Z2, B16, vec_f32, vec_f32)                                      \
  X(vrcp14ps, "vrcp14ps", Z2, B16, vec_f32, vec_f32) X(vrsqrt14pd, "vrsqrt14pd", Z2, B8, vec_f64, vec_f64) \
  X(vfmadd213ps, "vfmadd213ps", Z3, B16, vec_f32, vec_f32)                                            \
  X(vfnmsub231pd, "vfnmsub231pd", Z3, B8, vec_f64, vec_f64)                                           \
  X(vfmaddsub132ps, "vfmaddsub132ps", Z3, B16, vec_f32, vec_f32)                                      \
  X(vpermt2ps, "vpermt2ps", Z3, B16, vec_int, vec_f32) X(vpermi2pd, "vpermi2pd", Z3, B8, vec_int, vec_f64) \
  X(vpermps, "vpermps", Z3N, B16, vec_int, vec_f32) X(vpermilps, "vpermilps", Z3, B16, vec_f32, vec_int) \
  X(vshuff32x4_1b, "vshuff32x4 $0x1b,", Z3N, B16, vec_f32, vec_f32)                                    \
  X(vunpcklps, "vunpcklps", Z3, B16, vec_f32, vec_f32) X(vshufpd_a5, "vshufpd $0xa5,", Z3, B8, vec_f64, vec_f64) \
  X(vblendmps, "vblendmps", Z3, B16, vec_f32, vec_f32) X(vblendmpd, "vblendmpd", Z3, B8, vec_f64, vec_f64) \
  X(vandps, "vandps", Z3, B16, vec_any, vec_any) X(vxorpd, "vxorpd", Z3, B8, vec_any, vec_any)         \
  X(vandnpd, "vandnpd", Z3, B8, vec_any, vec_any)                                                     \
  X(vcvtdq2ps, "vcvtdq2ps", Z2, B16, vec_f32, vec_int) X(vcvtps2udq, "vcvtps2udq", Z2, B16, vec_int, vec_f32) \
  X(vcvttps2dq, "vcvttps2dq", Z2, B16, vec_int, vec_f32) X(vcvtudq2ps, "vcvtudq2ps", Z2, B16, vec_f32, vec_int) \
  X(vcvtqq2pd, "vcvtqq2pd", Z2, B8, vec_f64, vec_int) X(vcvttpd2uqq, "vcvttpd2uqq", Z2, B8, vec_int, vec_f64) \
  X(vcvtpd2qq, "vcvtpd2qq", Z2, B8, vec_int, vec_f64)                                                 \
  ZPRED32(X, vcmpps, "vcmpps", vec_f32)                                                               \
  X(vcmppd_1, "vcmppd $1,", ZK, B8, vec_f64, vec_f64) X(vcmppd_1e, "vcmppd $0x1e,", ZK, B8, vec_f64, vec_f64) \
  X(vfpclassps_ff, "vfpclassps $0xff,", ZK2, B16, vec_f32, vec_f32)                                   \
  X(vfpclassps_81, "vfpclassps $0x81,", ZK2, B16, vec_f32, vec_f32)                                   \
  X(vfpclasspd_66, "vfpclasspd $0x66,", ZK2, B8, vec_f64, vec_f64)                                    \
  X(vaddps_er, "vaddps", ZR, NOB, vec_f32, vec_f32) X(vmulpd_er, "vmulpd", ZR, NOB, vec_f64, vec_f64) \
  X(vdivps_er, "vdivps", ZR, NOB, vec_f32, vec_f32) X(vscalefpd_er, "vscalefpd", ZR, NOB, vec_f64, vec_f64) \
  X(vfmadd231ps_er, "vfmadd231ps", ZR, NOB, vec_f32, vec_f32)                                         \
  X(vsqrtpd_er, "vsqrtpd", ZR2, NOB, vec_f64, vec_f64) X(vcvtps2dq_er, "vcvtps2dq", ZR2, NOB, vec_int, vec_f32) \
  X(vcompressps, "vcompressps", ZC, NOB, vec_f32, vec_f32) X(vcompresspd, "vcompresspd", ZC, NOB, vec_f64, vec_f64) \
  X(vexpandps, "vexpandps", Z2, NOB, vec_f32, vec_f32) X(vexpandpd, "vexpandpd", Z2, NOB, vec_f64, vec_f64) \
  X(vmovups, "vmovups", ZS, NOB, vec_f32, vec_f32) X(vmovupd, "vmovupd", ZS, NOB, vec_f64, vec_f64)   \
  X(vmovaps, "vmovaps", ZS, NOB, vec_f32, vec_f32)

Z_FLOAT_OPS(Z_FAMILY)

int main(int argc, char **argv) {
  insn_init(argc, argv);
  if (!require(Z_REQUIRE))
    return 0;
  Z_FLOAT_OPS(Z_CALL)
  return 0;
}
