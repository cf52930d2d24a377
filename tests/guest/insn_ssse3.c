/* insn_ssse3.c - SSE3 and SSSE3: horizontal add/sub (float and integer,
 * with saturation), addsub, duplicating moves, lddqu, pshufb, palignr at
 * many byte offsets, pmaddubsw, pmulhrsw, psign and pabs. */
#include "insn_sse.h"

#define SSSE3_OPS(X)                                                                          \
  X(haddps, "haddps", vec_f32, vec_f32) X(haddpd, "haddpd", vec_f64, vec_f64)                 \
  X(hsubps, "hsubps", vec_f32, vec_f32) X(hsubpd, "hsubpd", vec_f64, vec_f64)                 \
  X(addsubps, "addsubps", vec_f32, vec_f32) X(addsubpd, "addsubpd", vec_f64, vec_f64)         \
  X(movsldup, "movsldup", vec_f32, vec_f32) X(movshdup, "movshdup", vec_f32, vec_f32)         \
  X(movddup, "movddup", vec_f64, vec_f64) X(pshufb, "pshufb", vec_int, vec_int)               \
  X(phaddw, "phaddw", vec_int, vec_int) X(phaddd, "phaddd", vec_int, vec_int)                 \
  X(phaddsw, "phaddsw", vec_int, vec_int) X(phsubw, "phsubw", vec_int, vec_int)               \
  X(phsubd, "phsubd", vec_int, vec_int) X(phsubsw, "phsubsw", vec_int, vec_int)               \
  X(pmaddubsw, "pmaddubsw", vec_int, vec_int) X(pmulhrsw, "pmulhrsw", vec_int, vec_int)       \
  X(psignb, "psignb", vec_int, vec_int) X(psignw, "psignw", vec_int, vec_int)                 \
  X(psignd, "psignd", vec_int, vec_int) X(pabsb, "pabsb", vec_int, vec_int)                   \
  X(pabsw, "pabsw", vec_int, vec_int) X(pabsd, "pabsd", vec_int, vec_int)                     \
  X(palignr_0, "palignr $0,", vec_int, vec_int) X(palignr_1, "palignr $1,", vec_int, vec_int) \
  X(palignr_4, "palignr $4,", vec_int, vec_int) X(palignr_8, "palignr $8,", vec_int, vec_int) \
  X(palignr_15, "palignr $15,", vec_int, vec_int) X(palignr_16, "palignr $16,", vec_int, vec_int) \
  X(palignr_17, "palignr $17,", vec_int, vec_int) X(palignr_31, "palignr $31,", vec_int, vec_int) \
  X(palignr_32, "palignr $32,", vec_int, vec_int)

SSSE3_OPS(SSE_FAMILY)

static void test_lddqu(void) {
  if (!family("lddqu"))
    return;
  static uint8_t bytes[64] __attribute__((aligned(16)));
  for (int i = 0; i < SSE_CASES; i++) {
    for (int k = 0; k < 64; k++)
      bytes[k] = (uint8_t)rnd64();
    unsigned off = (unsigned)rnd_below(48);
    vec128 r;
    __asm__ volatile("lddqu (%[p]), %%xmm0\n\tmovdqa %%xmm0, (%[r])\n\t"
                     :
                     : [p] "r"(bytes + off), [r] "r"(&r)
                     : "memory", "xmm0");
    out("off=%u: " VFMT, off, VARG(r));
  }
  family_end();
}

int main(int argc, char **argv) {
  insn_init(argc, argv);
  SSSE3_OPS(SSE_CALL)
  test_lddqu();
  return 0;
}
