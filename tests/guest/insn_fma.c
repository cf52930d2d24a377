/* insn_fma.c - FMA3: every operand order (132, 213, 231) of vfmadd,
 * vfmsub, vfnmadd, vfnmsub (ps, pd on ymm and xmm; ss, sd) and vfmaddsub,
 * vfmsubadd (ps, pd), bit-exact: a single rounding under each of the four
 * MXCSR rounding modes, with DAZ/FTZ sometimes set, on operands with NaNs
 * (which NaN propagates), infinities (inf*0 is invalid), signed zeros
 * (the sign of an exact zero sum), denormals and products that cancel
 * the addend; the exception flags are printed too. */
#include "insn_avx.h"

/* Floats: specials and ordinary values from f32_bits, denormals, and
 * values near 1 so that a*b-c cancels. */
static vec128 fma_f32(void) {
  vec128 v;
  for (int k = 0; k < 4; k++) {
    uint64_t r = rnd_below(8);
    v.d[k] = r == 0   ? (rnd32() & 0x807fffffu)
             : r == 1 ? (rnd32() & 0x80ffffffu) | 0x3f800000u
                      : f32_bits();
  }
  return v;
}

static vec128 fma_f64(void) {
  vec128 v;
  for (int k = 0; k < 2; k++) {
    uint64_t r = rnd_below(8);
    v.q[k] = r == 0   ? (rnd64() & 0x800fffffffffffffull)
             : r == 1 ? (rnd64() & 0x801fffffffffffffull) | 0x3ff0000000000000ull
                      : f64_bits();
  }
  return v;
}

#define FMA_ORDER(X, op, o)                                                                   \
  X(v##op##o##ps, "v" #op #o "ps", Y3, fma_f32, fma_f32)                                        \
  X(v##op##o##pd, "v" #op #o "pd", Y3, fma_f64, fma_f64)                                        \
  X(v##op##o##ps_x, "v" #op #o "ps", X3, fma_f32, fma_f32)                                      \
  X(v##op##o##pd_x, "v" #op #o "pd", X3, fma_f64, fma_f64)
#define FMA_SCALAR(X, op, o)                                                                  \
  X(v##op##o##ss, "v" #op #o "ss", X3, fma_f32, fma_f32)                                        \
  X(v##op##o##sd, "v" #op #o "sd", X3, fma_f64, fma_f64)
#define FMA_ALL(X, op) FMA_ORDER(X, op, 132) FMA_ORDER(X, op, 213) FMA_ORDER(X, op, 231) \
  FMA_SCALAR(X, op, 132) FMA_SCALAR(X, op, 213) FMA_SCALAR(X, op, 231)
#define FMA_PACKED(X, op) FMA_ORDER(X, op, 132) FMA_ORDER(X, op, 213) FMA_ORDER(X, op, 231)

#define FMA_OPS(X)                                                                            \
  FMA_ALL(X, fmadd) FMA_ALL(X, fmsub) FMA_ALL(X, fnmadd) FMA_ALL(X, fnmsub)                   \
  FMA_PACKED(X, fmaddsub) FMA_PACKED(X, fmsubadd)

FMA_OPS(AVX_FAMILY)

int main(int argc, char **argv) {
  insn_init(argc, argv);
  if (!require(CPU_AVX | CPU_FMA))
    return 0;
  FMA_OPS(AVX_CALL)
  return 0;
}
