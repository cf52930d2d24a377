/* insn_sse_int.c - SSE2 integer instructions: add/sub with wraparound and
 * signed/unsigned saturation, multiplies (pmullw pmulhw pmulhuw pmuludq
 * pmaddwd), psadbw, packs, unpacks, compares, logic, averages, min/max,
 * shifts by register count (counts past the lane width clear or fill) and
 * by immediate, byte shifts, pshufd/pshuflw/pshufhw, and the moves between
 * xmm and general registers (movd movq pextrw pinsrw pmovmskb movdqu). */
#include "insn_sse.h"

#define INT_OPS(X)                                                                            \
  X(paddb, "paddb", vec_int, vec_int) X(paddw, "paddw", vec_int, vec_int)                     \
  X(paddd, "paddd", vec_int, vec_int) X(paddq, "paddq", vec_int, vec_int)                     \
  X(psubb, "psubb", vec_int, vec_int) X(psubw, "psubw", vec_int, vec_int)                     \
  X(psubd, "psubd", vec_int, vec_int) X(psubq, "psubq", vec_int, vec_int)                     \
  X(paddsb, "paddsb", vec_int, vec_int) X(paddsw, "paddsw", vec_int, vec_int)                 \
  X(paddusb, "paddusb", vec_int, vec_int) X(paddusw, "paddusw", vec_int, vec_int)             \
  X(psubsb, "psubsb", vec_int, vec_int) X(psubsw, "psubsw", vec_int, vec_int)                 \
  X(psubusb, "psubusb", vec_int, vec_int) X(psubusw, "psubusw", vec_int, vec_int)             \
  X(pmullw, "pmullw", vec_int, vec_int) X(pmulhw, "pmulhw", vec_int, vec_int)                 \
  X(pmulhuw, "pmulhuw", vec_int, vec_int) X(pmuludq, "pmuludq", vec_int, vec_int)             \
  X(pmaddwd, "pmaddwd", vec_int, vec_int) X(psadbw, "psadbw", vec_int, vec_int)               \
  X(packsswb, "packsswb", vec_int, vec_int) X(packssdw, "packssdw", vec_int, vec_int)         \
  X(packuswb, "packuswb", vec_int, vec_int) X(punpcklbw, "punpcklbw", vec_int, vec_int)       \
  X(punpcklwd, "punpcklwd", vec_int, vec_int) X(punpckldq, "punpckldq", vec_int, vec_int)     \
  X(punpcklqdq, "punpcklqdq", vec_int, vec_int) X(punpckhbw, "punpckhbw", vec_int, vec_int)   \
  X(punpckhwd, "punpckhwd", vec_int, vec_int) X(punpckhdq, "punpckhdq", vec_int, vec_int)     \
  X(punpckhqdq, "punpckhqdq", vec_int, vec_int) X(pcmpeqb, "pcmpeqb", vec_int, vec_int)       \
  X(pcmpeqw, "pcmpeqw", vec_int, vec_int) X(pcmpeqd, "pcmpeqd", vec_int, vec_int)             \
  X(pcmpgtb, "pcmpgtb", vec_int, vec_int) X(pcmpgtw, "pcmpgtw", vec_int, vec_int)             \
  X(pcmpgtd, "pcmpgtd", vec_int, vec_int) X(pand, "pand", vec_int, vec_int)                   \
  X(pandn, "pandn", vec_int, vec_int) X(por, "por", vec_int, vec_int)                         \
  X(pxor, "pxor", vec_int, vec_int) X(pavgb, "pavgb", vec_int, vec_int)                       \
  X(pavgw, "pavgw", vec_int, vec_int) X(pmaxsw, "pmaxsw", vec_int, vec_int)                   \
  X(pmaxub, "pmaxub", vec_int, vec_int) X(pminsw, "pminsw", vec_int, vec_int)                 \
  X(pminub, "pminub", vec_int, vec_int) X(psllw, "psllw", vec_int, vec_count)                 \
  X(pslld, "pslld", vec_int, vec_count) X(psllq, "psllq", vec_int, vec_count)                 \
  X(psrlw, "psrlw", vec_int, vec_count) X(psrld, "psrld", vec_int, vec_count)                 \
  X(psrlq, "psrlq", vec_int, vec_count) X(psraw, "psraw", vec_int, vec_count)                 \
  X(psrad, "psrad", vec_int, vec_count) X(pshufd_1b, "pshufd $0x1b,", vec_int, vec_int)       \
  X(pshufd_4e, "pshufd $0x4e,", vec_int, vec_int) X(pshuflw_b1, "pshuflw $0xb1,", vec_int, vec_int) \
  X(pshufhw_27, "pshufhw $0x27,", vec_int, vec_int) X(movdqu, "movdqu", vec_int, vec_int)

INT_OPS(SSE_FAMILY)

/* Shifts by immediate: the memory form does not exist, so each runs on a
 * register only, at several counts. */
#define IMM_SHIFT(insn, count)                                                          \
  __asm__ volatile("movdqa (%[a]), %%xmm0\n\t" insn " $" #count ", %%xmm0\n\t"         \
                   "movdqa %%xmm0, (%[r])\n\t"                                          \
                   :                                                                    \
                   : [a] "r"(&a), [r] "r"(&r)                                           \
                   : "memory", "xmm0");                                                 \
  h = fnv_bytes(h, &r, 16);                                                             \
  if (i < 2)                                                                            \
    printf("  %s $%d: " VFMT "\n", insn, count, VARG(r));

static void test_imm_shifts(void) {
  if (!family("shift_imm"))
    return;
  for (int i = 0; i < SSE_CASES; i++) {
    vec128 a = vec_int(), r;
    uint64_t h = FNV_INIT;
#define ALL_COUNTS(insn) IMM_SHIFT(insn, 0) IMM_SHIFT(insn, 1) IMM_SHIFT(insn, 7) \
    IMM_SHIFT(insn, 15) IMM_SHIFT(insn, 16) IMM_SHIFT(insn, 31) IMM_SHIFT(insn, 33) IMM_SHIFT(insn, 64)
    ALL_COUNTS("psllw")
    ALL_COUNTS("pslld")
    ALL_COUNTS("psllq")
    ALL_COUNTS("psrlw")
    ALL_COUNTS("psrld")
    ALL_COUNTS("psrlq")
    ALL_COUNTS("psraw")
    ALL_COUNTS("psrad")
    IMM_SHIFT("pslldq", 0)
    IMM_SHIFT("pslldq", 1)
    IMM_SHIFT("pslldq", 5)
    IMM_SHIFT("pslldq", 15)
    IMM_SHIFT("pslldq", 16)
    IMM_SHIFT("psrldq", 1)
    IMM_SHIFT("psrldq", 8)
    IMM_SHIFT("psrldq", 17)
    out("a=" VFMT ": %016" PRIx64, VARG(a), h);
  }
  family_end();
}

static void test_gpr_moves(void) {
  if (!family("xmm_gpr_moves"))
    return;
  static uint8_t unaligned[64] __attribute__((aligned(16)));
  for (int i = 0; i < 4 * SSE_CASES; i++) {
    vec128 a = vec_int(), b = vec_int(), r_movd, r_movq, r_pinsr, r_movq_zx, r_loadu;
    uint64_t g = operand(64), movd_out, movq_out, pextr0, pextr7, mask;
    for (int k = 0; k < 64; k++)
      unaligned[k] = (uint8_t)rnd64();
    unsigned off = (unsigned)rnd_below(48);
    __asm__ volatile("movdqa (%[a]), %%xmm0\n\tmovdqa (%[b]), %%xmm1\n\t"
                     "movd %k[g], %%xmm1\n\tmovdqa %%xmm1, (%[r1])\n\t"
                     "movq %[g], %%xmm1\n\tmovdqa %%xmm1, (%[r2])\n\t"
                     "movd %%xmm0, %k[o1]\n\tmovq %%xmm0, %[o2]\n\t"
                     "pextrw $0, %%xmm0, %k[e0]\n\tpextrw $7, %%xmm0, %k[e7]\n\t"
                     "pmovmskb %%xmm0, %k[mask]\n\t"
                     "pinsrw $5, %k[g], %%xmm0\n\tmovdqa %%xmm0, (%[r3])\n\t"
                     "movq %%xmm0, %%xmm2\n\tmovdqa %%xmm2, (%[r4])\n\t"
                     "movdqu (%[u]), %%xmm3\n\tmovdqa %%xmm3, (%[r5])\n\t"
                     "movdqu %%xmm0, 1(%[u])\n\t"
                     : [o1] "=&r"(movd_out), [o2] "=&r"(movq_out), [e0] "=&r"(pextr0),
                       [e7] "=&r"(pextr7), [mask] "=&r"(mask)
                     : [a] "r"(&a), [b] "r"(&b), [g] "r"(g), [r1] "r"(&r_movd), [r2] "r"(&r_movq),
                       [r3] "r"(&r_pinsr), [r4] "r"(&r_movq_zx), [r5] "r"(&r_loadu),
                       [u] "r"(unaligned + off)
                     : "memory", "xmm0", "xmm1", "xmm2", "xmm3");
    out("a=" VFMT " g=%016" PRIx64 " off=%u: movd " VFMT " movq " VFMT " out %016" PRIx64
        " %016" PRIx64 " pextrw %04" PRIx64 " %04" PRIx64 " pmovmskb %04" PRIx64 " pinsrw " VFMT
        " movq " VFMT " movdqu " VFMT " stored %016" PRIx64,
        VARG(a), g, off, VARG(r_movd), VARG(r_movq), movd_out, movq_out, pextr0, pextr7, mask,
        VARG(r_pinsr), VARG(r_movq_zx), VARG(r_loadu), fnv_bytes(FNV_INIT, unaligned, 64));
  }
  family_end();
}

int main(int argc, char **argv) {
  insn_init(argc, argv);
  INT_OPS(SSE_CALL)
  test_imm_shifts();
  test_gpr_moves();
  return 0;
}
