/* insn_f16c.c - F16C: vcvtph2ps (xmm and ymm destinations; half-precision
 * denormals, infinities, signalling and quiet NaNs) and vcvtps2ph with
 * every rounding immediate (0-3 fixed modes, 4-7 MXCSR's mode, whatever
 * MXCSR says; bits 7:3 ignored) on floats around the half-precision range:
 * overflow to infinity or the largest finite value by mode, half
 * denormals, underflow to zero, ties, NaN quieting; register and memory
 * destinations, MXCSR flags (DAZ/FTZ sometimes set). */
#include "insn_avx.h"

/* Half-precision lanes: specials, denormals or random bits. */
static vec128 vec_f16(void) {
  static const uint16_t specials[] = {0x0000, 0x8000, 0x3c00, 0xbc00, 0x7c00, 0xfc00, 0x7e00,
                                      0x7d01, 0xfe55, 0x0001, 0x03ff, 0x0400, 0x7bff, 0xfbff};
  vec128 v;
  for (int k = 0; k < 8; k++) {
    uint64_t r = rnd_below(4);
    v.w[k] = r == 0   ? specials[rnd_below(sizeof specials / sizeof specials[0])]
             : r == 1 ? (uint16_t)(rnd32() & 0x83ff)
                      : (uint16_t)rnd32();
  }
  return v;
}

/* Floats near the half range (2^-26 .. 2^17), with halfway fractions. */
static vec128 vec_f32_half(void) {
  vec128 v;
  for (int k = 0; k < 4; k++) {
    uint64_t r = rnd_below(8);
    uint32_t bits = (rnd32() & 0x807fffffu) | (uint32_t)(127 - 26 + rnd_below(44)) << 23;
    if (r < 2)
      bits = (bits & ~0x1fffu) | 0x1000u; /* a tie at half precision */
    else if (r < 4)
      bits = f32_bits();
    v.d[k] = bits;
  }
  return v;
}

#define CVTPS2PH(X, i)                                                                          \
  X(vcvtps2ph_##i, "vcvtps2ph $" #i ",", XYE, vec_f32_half, vec_f32_half)                       \
  X(vcvtps2ph_x##i, "vcvtps2ph $" #i ",", XXE, vec_f32_half, vec_f32_half)

#define F16C_OPS(X)                                                                             \
  X(vcvtph2ps, "vcvtph2ps", YX2, vec_f16, vec_f16) X(vcvtph2ps_x, "vcvtph2ps", X2, vec_f16, vec_f16) \
  CVTPS2PH(X, 0) CVTPS2PH(X, 1) CVTPS2PH(X, 2) CVTPS2PH(X, 3) CVTPS2PH(X, 4) CVTPS2PH(X, 5)        \
  CVTPS2PH(X, 6) CVTPS2PH(X, 7) CVTPS2PH(X, 0xf9) CVTPS2PH(X, 0xac)

F16C_OPS(AVX_FAMILY)

int main(int argc, char **argv) {
  insn_init(argc, argv);
  if (!require(CPU_AVX | CPU_F16C))
    return 0;
  F16C_OPS(AVX_CALL)
  return 0;
}
