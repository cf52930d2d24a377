/* insn_alu.c - integer ALU instructions: add adc sub sbb cmp and or xor
 * test (8/16/32/64-bit; register, memory-destination, memory-source,
 * imm8, full-width immediate into the accumulator, and same-register
 * forms) and neg not inc dec (register and memory), with random input
 * flags. AF is undefined after the logical operations and is masked. */
#include "insn_common.h"

#define LOGIC_MASK (F_ARITH & ~F_AF)

/* Defines test_<op><bits>() for a two-operand ALU instruction. */
#define ALU_BIN(op, T, sfx, bits, immw, mask)                                                 \
  static void test_##op##bits(void) {                                                          \
    if (!family(#op #bits))                                                                     \
      return;                                                                                   \
    for (int i = 0; i < CASES; i++) {                                                           \
      T d = (T)operand(bits), s = (T)operand(bits), m, r[6];                                    \
      uint64_t fin = flags_in(), f[6];                                                          \
      r[0] = d, f[0] = fin;                                                                     \
      __asm__ volatile(SET_FLAGS #op " %[s], %[d]\n\t" GET_FLAGS                                \
                       : [d] "+r"(r[0]), [fl] "+r"(f[0]) : [s] "r"(s) : "cc");                   \
      m = d, f[1] = fin;                                                                        \
      __asm__ volatile(SET_FLAGS #op sfx " %[s], (%[p])\n\t" GET_FLAGS                          \
                       : [fl] "+r"(f[1]) : [s] "r"(s), [p] "r"(&m) : "cc", "memory");            \
      r[1] = m;                                                                                 \
      m = s, r[2] = d, f[2] = fin;                                                              \
      __asm__ volatile(SET_FLAGS #op sfx " (%[p]), %[d]\n\t" GET_FLAGS                          \
                       : [d] "+r"(r[2]), [fl] "+r"(f[2]) : [p] "r"(&m) : "cc", "memory");        \
      r[3] = d, f[3] = fin;                                                                     \
      __asm__ volatile(SET_FLAGS #op sfx " $-3, %[d]\n\t" GET_FLAGS                             \
                       : [d] "+r"(r[3]), [fl] "+r"(f[3]) : : "cc");                             \
      r[4] = d, f[4] = fin;                                                                     \
      __asm__ volatile(SET_FLAGS #op sfx " $" #immw ", %[d]\n\t" GET_FLAGS                      \
                       : [d] "+a"(r[4]), [fl] "+r"(f[4]) : : "cc");                             \
      r[5] = d, f[5] = fin;                                                                     \
      __asm__ volatile(SET_FLAGS #op " %[d], %[d]\n\t" GET_FLAGS                                \
                       : [d] "+r"(r[5]), [fl] "+r"(f[5]) : : "cc");                             \
      int w = bits / 4;                                                                         \
      out("d=%0*" PRIx64 " s=%0*" PRIx64 " f=%03" PRIx64 ": rr %0*" PRIx64 " %03" PRIx64         \
          " mr %0*" PRIx64 " %03" PRIx64 " rm %0*" PRIx64 " %03" PRIx64 " i8 %0*" PRIx64          \
          " %03" PRIx64 " iw %0*" PRIx64 " %03" PRIx64 " same %0*" PRIx64 " %03" PRIx64,        \
          w, (uint64_t)d, w, (uint64_t)s, fin & F_ARITH, w, (uint64_t)r[0], f[0] & (mask), w,  \
          (uint64_t)r[1], f[1] & (mask), w, (uint64_t)r[2], f[2] & (mask), w, (uint64_t)r[3],  \
          f[3] & (mask), w, (uint64_t)r[4], f[4] & (mask), w, (uint64_t)r[5], f[5] & (mask));   \
    }                                                                                           \
    family_end();                                                                               \
  }

/* Defines test_<op><bits>() for a one-operand instruction. */
#define ALU_UN(op, T, sfx, bits)                                                                \
  static void test_##op##bits(void) {                                                          \
    if (!family(#op #bits))                                                                     \
      return;                                                                                   \
    for (int i = 0; i < CASES; i++) {                                                           \
      T d = (T)operand(bits), m, r;                                                             \
      uint64_t fin = flags_in(), f0 = fin, f1 = fin;                                            \
      r = d;                                                                                    \
      __asm__ volatile(SET_FLAGS #op " %[d]\n\t" GET_FLAGS : [d] "+r"(r), [fl] "+r"(f0) : : "cc"); \
      m = d;                                                                                    \
      __asm__ volatile(SET_FLAGS #op sfx " (%[p])\n\t" GET_FLAGS                                \
                       : [fl] "+r"(f1) : [p] "r"(&m) : "cc", "memory");                          \
      int w = bits / 4;                                                                         \
      out("d=%0*" PRIx64 " f=%03" PRIx64 ": r %0*" PRIx64 " %03" PRIx64 " m %0*" PRIx64        \
          " %03" PRIx64, w, (uint64_t)d, fin & F_ARITH, w, (uint64_t)r, f0 & F_ARITH, w,        \
          (uint64_t)m, f1 & F_ARITH);                                                           \
    }                                                                                           \
    family_end();                                                                               \
  }

#define BIN_ALL_WIDTHS(op, mask)                                 \
  ALU_BIN(op, uint8_t, "b", 8, 0x5a, mask)                       \
  ALU_BIN(op, uint16_t, "w", 16, 0x1234, mask)                   \
  ALU_BIN(op, uint32_t, "l", 32, 0x12345678, mask)               \
  ALU_BIN(op, uint64_t, "q", 64, -0x12345678, mask)
#define UN_ALL_WIDTHS(op)                                        \
  ALU_UN(op, uint8_t, "b", 8)                                    \
  ALU_UN(op, uint16_t, "w", 16)                                  \
  ALU_UN(op, uint32_t, "l", 32)                                  \
  ALU_UN(op, uint64_t, "q", 64)

BIN_ALL_WIDTHS(add, F_ARITH)
BIN_ALL_WIDTHS(adc, F_ARITH)
BIN_ALL_WIDTHS(sub, F_ARITH)
BIN_ALL_WIDTHS(sbb, F_ARITH)
BIN_ALL_WIDTHS(cmp, F_ARITH)
BIN_ALL_WIDTHS(and, LOGIC_MASK)
BIN_ALL_WIDTHS(or, LOGIC_MASK)
BIN_ALL_WIDTHS(xor, LOGIC_MASK)
BIN_ALL_WIDTHS(test, LOGIC_MASK)
UN_ALL_WIDTHS(neg)
UN_ALL_WIDTHS(not)
UN_ALL_WIDTHS(inc)
UN_ALL_WIDTHS(dec)

#define RUN_WIDTHS(op) test_##op##8(), test_##op##16(), test_##op##32(), test_##op##64()

int main(int argc, char **argv) {
  insn_init(argc, argv);
  RUN_WIDTHS(add);
  RUN_WIDTHS(adc);
  RUN_WIDTHS(sub);
  RUN_WIDTHS(sbb);
  RUN_WIDTHS(cmp);
  RUN_WIDTHS(and);
  RUN_WIDTHS(or);
  RUN_WIDTHS(xor);
  RUN_WIDTHS(test);
  RUN_WIDTHS(neg);
  RUN_WIDTHS(not);
  RUN_WIDTHS(inc);
  RUN_WIDTHS(dec);
  return 0;
}
