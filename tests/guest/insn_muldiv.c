/* insn_muldiv.c - multiplication and division: mul and imul in the
 * one-operand widening form (8/16/32/64-bit, register and memory), imul in
 * the two- and three-operand forms (imm8 and full immediates), and div and
 * idiv with operands chosen so that no #DE fault occurs. Only CF and OF are
 * defined after multiplication; no flag is defined after division. */
#include "insn_common.h"

#define MUL_MASK (F_CF | F_OF)

/* One-operand 8-bit multiply: AX = AL * r/m8. */
#define MUL8(op)                                                                               \
  static void test_##op##8(void) {                                                              \
    if (!family(#op "8"))                                                                        \
      return;                                                                                    \
    for (int i = 0; i < CASES; i++) {                                                            \
      uint16_t ax = (uint16_t)operand(16), axm = ax;                                             \
      uint8_t s = (uint8_t)operand(8);                                                           \
      uint64_t fin = flags_in(), f = fin, fm = fin;                                              \
      __asm__ volatile(SET_FLAGS #op "b %[s]\n\t" GET_FLAGS : "+a"(ax), [fl] "+r"(f) : [s] "r"(s) : "cc"); \
      __asm__ volatile(SET_FLAGS #op "b (%[p])\n\t" GET_FLAGS : "+a"(axm), [fl] "+r"(fm) : [p] "r"(&s) : "cc", "memory"); \
      out("al=%02x s=%02x: ax %04x %03" PRIx64 " mem %04x %03" PRIx64, axm & 0xff, s, ax,      \
          f & MUL_MASK, axm, fm & MUL_MASK);                                                     \
    }                                                                                            \
    family_end();                                                                                \
  }

/* One-operand widening multiply: rDX:rAX = rAX * r/m. */
#define MUL_WIDE(op, T, sfx, bits)                                                             \
  static void test_##op##bits(void) {                                                           \
    if (!family(#op #bits))                                                                      \
      return;                                                                                    \
    for (int i = 0; i < CASES; i++) {                                                            \
      T a = (T)operand(bits), s = (T)operand(bits), lo = a, hi, lom = a, him;                    \
      uint64_t fin = flags_in(), f = fin, fm = fin;                                              \
      __asm__ volatile(SET_FLAGS #op sfx " %[s]\n\t" GET_FLAGS                                   \
                       : "+a"(lo), "=d"(hi), [fl] "+r"(f) : [s] "r"(s) : "cc");                  \
      __asm__ volatile(SET_FLAGS #op sfx " (%[p])\n\t" GET_FLAGS                                 \
                       : "+a"(lom), "=d"(him), [fl] "+r"(fm) : [p] "r"(&s) : "cc", "memory");    \
      int w = bits / 4;                                                                          \
      out("a=%0*" PRIx64 " s=%0*" PRIx64 ": %0*" PRIx64 ":%0*" PRIx64 " %03" PRIx64              \
          " mem %0*" PRIx64 ":%0*" PRIx64 " %03" PRIx64, w, (uint64_t)a, w, (uint64_t)s, w,       \
          (uint64_t)hi, w, (uint64_t)lo, f & MUL_MASK, w, (uint64_t)him, w, (uint64_t)lom,        \
          fm & MUL_MASK);                                                                        \
    }                                                                                            \
    family_end();                                                                                \
  }

/* imul r, r/m and imul r, r/m, imm (imm8 and full-size immediate). */
#define IMUL_FORMS(T, sfx, bits, immw)                                                         \
  static void test_imul_forms##bits(void) {                                                     \
    if (!family("imul_forms" #bits))                                                             \
      return;                                                                                    \
    for (int i = 0; i < CASES; i++) {                                                            \
      T d = (T)operand(bits), s = (T)operand(bits), r2 = d, rm = d, r8, rw;                      \
      uint64_t fin = flags_in(), f2 = fin, fm = fin, f8 = fin, fw = fin;                         \
      __asm__ volatile(SET_FLAGS "imul %[s], %[d]\n\t" GET_FLAGS                                 \
                       : [d] "+r"(r2), [fl] "+r"(f2) : [s] "r"(s) : "cc");                       \
      __asm__ volatile(SET_FLAGS "imul" sfx " (%[p]), %[d]\n\t" GET_FLAGS                        \
                       : [d] "+r"(rm), [fl] "+r"(fm) : [p] "r"(&s) : "cc", "memory");            \
      __asm__ volatile(SET_FLAGS "imul $-77, %[s], %[d]\n\t" GET_FLAGS                           \
                       : [d] "=&r"(r8), [fl] "+r"(f8) : [s] "r"(s) : "cc");                      \
      __asm__ volatile(SET_FLAGS "imul" sfx " $" #immw ", (%[p]), %[d]\n\t" GET_FLAGS            \
                       : [d] "=&r"(rw), [fl] "+r"(fw) : [p] "r"(&s) : "cc", "memory");           \
      int w = bits / 4;                                                                          \
      out("d=%0*" PRIx64 " s=%0*" PRIx64 ": rr %0*" PRIx64 " %03" PRIx64 " rm %0*" PRIx64        \
          " %03" PRIx64 " imm8 %0*" PRIx64 " %03" PRIx64 " immw %0*" PRIx64 " %03" PRIx64,        \
          w, (uint64_t)d, w, (uint64_t)s, w, (uint64_t)r2, f2 & MUL_MASK, w, (uint64_t)rm,        \
          fm & MUL_MASK, w, (uint64_t)r8, f8 & MUL_MASK, w, (uint64_t)rw, fw & MUL_MASK);         \
    }                                                                                            \
    family_end();                                                                                \
  }

MUL8(mul)
MUL8(imul)
MUL_WIDE(mul, uint16_t, "w", 16)
MUL_WIDE(mul, uint32_t, "l", 32)
MUL_WIDE(mul, uint64_t, "q", 64)
MUL_WIDE(imul, uint16_t, "w", 16)
MUL_WIDE(imul, uint32_t, "l", 32)
MUL_WIDE(imul, uint64_t, "q", 64)
IMUL_FORMS(uint16_t, "w", 16, 0x1234)
IMUL_FORMS(uint32_t, "l", 32, 0x12345678)
IMUL_FORMS(uint64_t, "q", 64, -0x12345678)

/* Whether hi:lo / s fits the quotient register (and s != 0). */
static int div_ok(int is_signed, int bits, uint64_t hi, uint64_t lo, uint64_t s) {
  if (s == 0)
    return 0;
  if (bits == 64) {
    unsigned __int128 n = ((unsigned __int128)hi << 64) | lo;
    if (!is_signed)
      return hi < s;
    __int128 sn = (__int128)n, sd = (int64_t)s;
    if (sd == -1) /* q = -sn must fit in 64 bits (and sn / -1 must not overflow in C) */
      return sn >= -(__int128)INT64_MAX && sn <= ((__int128)1 << 63);
    __int128 q = sn / sd;
    return q >= INT64_MIN && q <= INT64_MAX;
  }
  uint64_t n = (hi << bits) | lo; /* at most 64 bits wide */
  if (!is_signed)
    return n / s <= width_mask(bits);
  int64_t sn = (int64_t)(n << (64 - 2 * bits)) >> (64 - 2 * bits);
  int64_t sd = (int64_t)(s << (64 - bits)) >> (64 - bits);
  int64_t q = sn / sd;
  int64_t lim = (int64_t)1 << (bits - 1);
  return q >= -lim && q < lim;
}

/* Draws hi:lo and s until the division is valid. */
static void div_operands(int is_signed, int bits, uint64_t *hi, uint64_t *lo, uint64_t *s) {
  for (;;) {
    *s = operand(bits);
    *lo = operand(bits);
    uint64_t r = rnd_below(3);
    if (r == 0) /* sign or zero extension of lo */
      *hi = (is_signed && (*lo >> (bits - 1))) ? width_mask(bits) : 0;
    else if (r == 1 && *s)
      *hi = rnd64() % (*s & width_mask(bits)) & width_mask(bits);
    else
      *hi = operand(bits);
    if (div_ok(is_signed, bits, *hi, *lo, *s))
      return;
  }
}

#define DIV8(op, is_signed)                                                                      \
  static void test_##op##8(void) {                                                                \
    if (!family(#op "8"))                                                                          \
      return;                                                                                      \
    for (int i = 0; i < CASES; i++) {                                                              \
      uint64_t hi, lo, s64;                                                                        \
      div_operands(is_signed, 8, &hi, &lo, &s64);                                                  \
      uint16_t ax = (uint16_t)(hi << 8 | lo), axm = ax;                                            \
      uint8_t s = (uint8_t)s64;                                                                    \
      __asm__ volatile(#op "b %[s]" : "+a"(ax) : [s] "r"(s) : "cc");                               \
      __asm__ volatile(#op "b (%[p])" : "+a"(axm) : [p] "r"(&s) : "cc", "memory");                 \
      out("ax=%04x s=%02x: q=%02x r=%02x mem q=%02x r=%02x", (unsigned)(hi << 8 | lo), s,          \
          ax & 0xff, ax >> 8, axm & 0xff, axm >> 8);                                               \
    }                                                                                              \
    family_end();                                                                                  \
  }

#define DIV_WIDE(op, is_signed, T, sfx, bits)                                                    \
  static void test_##op##bits(void) {                                                             \
    if (!family(#op #bits))                                                                        \
      return;                                                                                      \
    for (int i = 0; i < CASES; i++) {                                                              \
      uint64_t hi64, lo64, s64;                                                                    \
      div_operands(is_signed, bits, &hi64, &lo64, &s64);                                           \
      T lo = (T)lo64, hi = (T)hi64, s = (T)s64, lom = lo, him = hi;                                \
      __asm__ volatile(#op sfx " %[s]" : "+a"(lo), "+d"(hi) : [s] "r"(s) : "cc");                 \
      __asm__ volatile(#op sfx " (%[p])" : "+a"(lom), "+d"(him) : [p] "r"(&s) : "cc", "memory");   \
      int w = bits / 4;                                                                            \
      out("n=%0*" PRIx64 ":%0*" PRIx64 " s=%0*" PRIx64 ": q=%0*" PRIx64 " r=%0*" PRIx64           \
          " mem q=%0*" PRIx64 " r=%0*" PRIx64, w, hi64, w, lo64, w, s64, w, (uint64_t)lo, w,       \
          (uint64_t)hi, w, (uint64_t)lom, w, (uint64_t)him);                                       \
    }                                                                                              \
    family_end();                                                                                  \
  }

DIV8(div, 0)
DIV8(idiv, 1)
DIV_WIDE(div, 0, uint16_t, "w", 16)
DIV_WIDE(div, 0, uint32_t, "l", 32)
DIV_WIDE(div, 0, uint64_t, "q", 64)
DIV_WIDE(idiv, 1, uint16_t, "w", 16)
DIV_WIDE(idiv, 1, uint32_t, "l", 32)
DIV_WIDE(idiv, 1, uint64_t, "q", 64)

int main(int argc, char **argv) {
  insn_init(argc, argv);
  test_mul8(), test_mul16(), test_mul32(), test_mul64();
  test_imul8(), test_imul16(), test_imul32(), test_imul64();
  test_imul_forms16(), test_imul_forms32(), test_imul_forms64();
  test_div8(), test_div16(), test_div32(), test_div64();
  test_idiv8(), test_idiv16(), test_idiv32(), test_idiv64();
  return 0;
}
