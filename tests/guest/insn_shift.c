/* insn_shift.c - shifts and rotates: shl shr sar rol ror rcl rcr
 * (8/16/32/64-bit) by CL (register and memory destination) and by
 * immediate (including the shift-by-one encoding), and shld shrd
 * (16/32/64-bit) by CL and immediate. Counts span 0..70 and beyond, so
 * count masking and the rotate-through-carry modulus are covered.
 * Flags the architecture leaves undefined for a given count are masked:
 * OF unless the count is 1, AF after a nonzero shift, CF once a shl/shr/sar
 * count reaches the operand width. */
#include "insn_common.h"

enum kind { SHIFT, ROTATE, ROTATE_CARRY, DOUBLE };

/* Flags that are architecturally defined after `kind` by `count` on a
 * `bits`-wide operand; *result_defined is cleared if the result is not. */
static uint64_t defined_flags(enum kind kind, int bits, unsigned count, int *result_defined) {
  unsigned c = count & (bits == 64 ? 63u : 31u);
  *result_defined = 1;
  if (c == 0)
    return F_ARITH; /* nothing changes */
  uint64_t m;
  switch (kind) {
  case SHIFT:
    m = F_SF | F_ZF | F_PF;
    if (c < (unsigned)bits)
      m |= F_CF;
    break;
  case ROTATE:
  case ROTATE_CARRY:
    m = F_ARITH & ~F_OF; /* SF ZF AF PF are preserved, CF is defined */
    break;
  default: /* DOUBLE */
    if (c > (unsigned)bits || (bits == 16 && c >= 16)) {
      *result_defined = 0;
      return 0;
    }
    m = F_SF | F_ZF | F_PF | F_CF;
    break;
  }
  if (c == 1)
    m |= F_OF;
  return m;
}

#define PR(w, v) (w), (uint64_t)(v)

/* Immediate form helper: runs `op $imm, r` with flags. */
#define SHIFT_IMM_CASE(op, T, imm)                                                   \
  case imm:                                                                           \
    __asm__ volatile(SET_FLAGS #op " $" #imm ", %[d]\n\t" GET_FLAGS                   \
                     : [d] "+r"(ri), [fl] "+r"(fi) : : "cc");                         \
    break;

#define SHIFT_FAMILY(op, kind, T, sfx, bits)                                                   \
  static void test_##op##bits(void) {                                                           \
    if (!family(#op #bits))                                                                      \
      return;                                                                                    \
    static const unsigned imms[] = {1, 7, 16, 33};                                               \
    for (int i = 0; i < CASES; i++) {                                                            \
      T d = (T)operand(bits), m = d, rc = d, ri = d;                                             \
      uint8_t c = count_operand();                                                               \
      uint64_t fin = flags_in(), fc = fin, fm = fin, fi = fin;                                   \
      __asm__ volatile(SET_FLAGS #op " %%cl, %[d]\n\t" GET_FLAGS                                 \
                       : [d] "+r"(rc), [fl] "+r"(fc) : "c"(c) : "cc");                           \
      __asm__ volatile(SET_FLAGS #op sfx " %%cl, (%[p])\n\t" GET_FLAGS                           \
                       : [fl] "+r"(fm) : "c"(c), [p] "r"(&m) : "cc", "memory");                  \
      unsigned imm = imms[i & 3];                                                                \
      switch (imm) {                                                                             \
        SHIFT_IMM_CASE(op, T, 1)                                                                 \
        SHIFT_IMM_CASE(op, T, 7)                                                                 \
        SHIFT_IMM_CASE(op, T, 16)                                                                \
        SHIFT_IMM_CASE(op, T, 33)                                                                \
      }                                                                                          \
      int ok_c, ok_i;                                                                            \
      uint64_t mc = defined_flags(kind, bits, c, &ok_c);                                         \
      uint64_t mi = defined_flags(kind, bits, imm, &ok_i);                                       \
      int w = bits / 4;                                                                          \
      out("d=%0*" PRIx64 " c=%u f=%03" PRIx64 ": cl %0*" PRIx64 " %03" PRIx64 " mem %0*" PRIx64   \
          " %03" PRIx64 " imm%u %0*" PRIx64 " %03" PRIx64, PR(w, d), c, fin & F_ARITH,            \
          PR(w, rc), fc & mc, PR(w, m), fm & mc, imm, PR(w, ri), fi & mi);                        \
    }                                                                                            \
    family_end();                                                                                \
  }

#define SHIFT_WIDTHS(op, kind)               \
  SHIFT_FAMILY(op, kind, uint8_t, "b", 8)    \
  SHIFT_FAMILY(op, kind, uint16_t, "w", 16)  \
  SHIFT_FAMILY(op, kind, uint32_t, "l", 32)  \
  SHIFT_FAMILY(op, kind, uint64_t, "q", 64)

SHIFT_WIDTHS(shl, SHIFT)
SHIFT_WIDTHS(shr, SHIFT)
SHIFT_WIDTHS(sar, SHIFT)
SHIFT_WIDTHS(rol, ROTATE)
SHIFT_WIDTHS(ror, ROTATE)
SHIFT_WIDTHS(rcl, ROTATE_CARRY)
SHIFT_WIDTHS(rcr, ROTATE_CARRY)

#define DOUBLE_IMM_CASE(op, imm)                                                    \
  case imm:                                                                          \
    __asm__ volatile(SET_FLAGS #op " $" #imm ", %[s], %[d]\n\t" GET_FLAGS            \
                     : [d] "+r"(ri), [fl] "+r"(fi) : [s] "r"(s) : "cc");             \
    break;

#define DOUBLE_FAMILY(op, T, sfx, bits)                                                          \
  static void test_##op##bits(void) {                                                             \
    if (!family(#op #bits))                                                                        \
      return;                                                                                      \
    static const unsigned imms[] = {1, 5, 15, 31};                                                 \
    for (int i = 0; i < CASES; i++) {                                                              \
      T d = (T)operand(bits), s = (T)operand(bits), m = d, rc = d, ri = d;                         \
      uint8_t c = count_operand();                                                                 \
      uint64_t fin = flags_in(), fc = fin, fm = fin, fi = fin;                                     \
      __asm__ volatile(SET_FLAGS #op " %%cl, %[s], %[d]\n\t" GET_FLAGS                             \
                       : [d] "+r"(rc), [fl] "+r"(fc) : [s] "r"(s), "c"(c) : "cc");                 \
      __asm__ volatile(SET_FLAGS #op sfx " %%cl, %[s], (%[p])\n\t" GET_FLAGS                       \
                       : [fl] "+r"(fm) : [s] "r"(s), "c"(c), [p] "r"(&m) : "cc", "memory");        \
      unsigned imm = imms[i & 3];                                                                  \
      switch (imm) {                                                                               \
        DOUBLE_IMM_CASE(op, 1)                                                                     \
        DOUBLE_IMM_CASE(op, 5)                                                                     \
        DOUBLE_IMM_CASE(op, 15)                                                                    \
        DOUBLE_IMM_CASE(op, 31)                                                                    \
      }                                                                                            \
      int ok_c, ok_i;                                                                              \
      uint64_t mc = defined_flags(DOUBLE, bits, c, &ok_c);                                         \
      uint64_t mi = defined_flags(DOUBLE, bits, imm, &ok_i);                                       \
      if (!ok_c)                                                                                   \
        rc = m = 0;                                                                                \
      if (!ok_i)                                                                                   \
        ri = 0;                                                                                    \
      int w = bits / 4;                                                                            \
      out("d=%0*" PRIx64 " s=%0*" PRIx64 " c=%u f=%03" PRIx64 ": cl %0*" PRIx64 " %03" PRIx64     \
          " mem %0*" PRIx64 " %03" PRIx64 " imm%u %0*" PRIx64 " %03" PRIx64, PR(w, d), PR(w, s),  \
          c, fin & F_ARITH, PR(w, rc), fc & mc, PR(w, m), fm & mc, imm, PR(w, ri), fi & mi);      \
    }                                                                                              \
    family_end();                                                                                  \
  }

DOUBLE_FAMILY(shld, uint16_t, "w", 16)
DOUBLE_FAMILY(shld, uint32_t, "l", 32)
DOUBLE_FAMILY(shld, uint64_t, "q", 64)
DOUBLE_FAMILY(shrd, uint16_t, "w", 16)
DOUBLE_FAMILY(shrd, uint32_t, "l", 32)
DOUBLE_FAMILY(shrd, uint64_t, "q", 64)

#define RUN_WIDTHS(op) test_##op##8(), test_##op##16(), test_##op##32(), test_##op##64()

int main(int argc, char **argv) {
  insn_init(argc, argv);
  RUN_WIDTHS(shl);
  RUN_WIDTHS(shr);
  RUN_WIDTHS(sar);
  RUN_WIDTHS(rol);
  RUN_WIDTHS(ror);
  RUN_WIDTHS(rcl);
  RUN_WIDTHS(rcr);
  test_shld16(), test_shld32(), test_shld64();
  test_shrd16(), test_shrd32(), test_shrd64();
  return 0;
}
