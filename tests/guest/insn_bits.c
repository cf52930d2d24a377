/* insn_bits.c - bit instructions: bt bts btr btc (register with register
 * or immediate offset, memory with immediate offset, and memory with a
 * register offset that addresses a bit string beyond the operand, in
 * either direction), bsf and bsr (16/32/64-bit), popcnt and bswap.
 * After bt* only CF is defined (ZF is preserved); after bsf/bsr only ZF,
 * and the destination is undefined for a zero source. */
#include "insn_common.h"

#define BT_MASK (F_CF | F_ZF)

/* bt family at one width: four forms per case. */
#define BT_FAMILY(op, T, sfx, bits)                                                              \
  static void test_##op##bits(void) {                                                             \
    if (!family(#op #bits))                                                                        \
      return;                                                                                      \
    static uint8_t buf[64] __attribute__((aligned(16)));                                           \
    for (int i = 0; i < CASES; i++) {                                                              \
      T d = (T)operand(bits), rr = d, ri = d, mi;                                                  \
      T off = (T)(rnd_below(2) ? operand(bits) : rnd_below(bits * 2));                             \
      uint64_t fin = flags_in(), frr = fin, fri = fin, fmi = fin, fms = fin;                       \
      __asm__ volatile(SET_FLAGS #op " %[o], %[d]\n\t" GET_FLAGS                                    \
                       : [d] "+r"(rr), [fl] "+r"(frr) : [o] "r"(off) : "cc");                       \
      __asm__ volatile(SET_FLAGS #op " $" #bits "-3, %[d]\n\t" GET_FLAGS                            \
                       : [d] "+r"(ri), [fl] "+r"(fri) : : "cc");                                    \
      mi = d;                                                                                      \
      __asm__ volatile(SET_FLAGS #op sfx " $7, (%[p])\n\t" GET_FLAGS                                \
                       : [fl] "+r"(fmi) : [p] "r"(&mi) : "cc", "memory");                          \
      for (int k = 0; k < 64; k++)                                                                 \
        buf[k] = (uint8_t)rnd64();                                                                 \
      /* signed bit offset within [-256, 255]: the byte lands inside buf */                       \
      T soff = (T)((int64_t)rnd_below(512) - 256);                                                 \
      __asm__ volatile(SET_FLAGS #op sfx " %[o], (%[p])\n\t" GET_FLAGS                              \
                       : [fl] "+r"(fms) : [o] "r"(soff), [p] "r"(buf + 32) : "cc", "memory");      \
      int w = bits / 4;                                                                            \
      out("d=%0*" PRIx64 " off=%0*" PRIx64 " f=%03" PRIx64 ": rr %0*" PRIx64 " %03" PRIx64          \
          " ri %0*" PRIx64 " %03" PRIx64 " mi %0*" PRIx64 " %03" PRIx64 " str(%d) %016" PRIx64      \
          " %03" PRIx64, w, (uint64_t)d, w, (uint64_t)off, fin & F_ARITH, w, (uint64_t)rr,          \
          frr & BT_MASK, w, (uint64_t)ri, fri & BT_MASK, w, (uint64_t)mi, fmi & BT_MASK,           \
          (int)(int64_t)(int16_t)soff, fnv_bytes(FNV_INIT, buf, sizeof buf), fms & BT_MASK);       \
    }                                                                                              \
    family_end();                                                                                  \
  }

#define BT_WIDTHS(op)                   \
  BT_FAMILY(op, uint16_t, "w", 16)      \
  BT_FAMILY(op, uint32_t, "l", 32)      \
  BT_FAMILY(op, uint64_t, "q", 64)

BT_WIDTHS(bt)
BT_WIDTHS(bts)
BT_WIDTHS(btr)
BT_WIDTHS(btc)

/* bsf, bsr and popcnt at one width, register and memory source. */
#define SCAN_FAMILY(T, sfx, bits)                                                                \
  static void test_scan##bits(void) {                                                             \
    if (!family("bsf_bsr_popcnt" #bits))                                                           \
      return;                                                                                      \
    for (int i = 0; i < CASES; i++) {                                                              \
      T s = (T)operand(bits), fwd = (T)rnd64(), rev = (T)rnd64(), fwdm = fwd, pop = 0, popm = 0;  \
      uint64_t fin = flags_in(), ff = fin, fr = fin, ffm = fin, fp = fin, fpm = fin;               \
      __asm__ volatile(SET_FLAGS "bsf %[s], %[d]\n\t" GET_FLAGS                                     \
                       : [d] "+r"(fwd), [fl] "+r"(ff) : [s] "r"(s) : "cc");                         \
      __asm__ volatile(SET_FLAGS "bsr %[s], %[d]\n\t" GET_FLAGS                                     \
                       : [d] "+r"(rev), [fl] "+r"(fr) : [s] "r"(s) : "cc");                         \
      __asm__ volatile(SET_FLAGS "bsf" sfx " (%[p]), %[d]\n\t" GET_FLAGS                            \
                       : [d] "+r"(fwdm), [fl] "+r"(ffm) : [p] "r"(&s) : "cc", "memory");            \
      __asm__ volatile(SET_FLAGS "popcnt %[s], %[d]\n\t" GET_FLAGS                                  \
                       : [d] "=&r"(pop), [fl] "+r"(fp) : [s] "r"(s) : "cc");                        \
      __asm__ volatile(SET_FLAGS "popcnt" sfx " (%[p]), %[d]\n\t" GET_FLAGS                         \
                       : [d] "=&r"(popm), [fl] "+r"(fpm) : [p] "r"(&s) : "cc", "memory");           \
      if (s == 0)                                                                                  \
        fwd = rev = fwdm = (T)-1; /* undefined */                                                  \
      out("s=%0*" PRIx64 ": bsf %d %03" PRIx64 " bsr %d %03" PRIx64 " bsfm %d %03" PRIx64          \
          " popcnt %d %03" PRIx64 " mem %d %03" PRIx64, bits / 4, (uint64_t)s, (int)(T)fwd,         \
          ff & F_ZF, (int)(T)rev, fr & F_ZF, (int)(T)fwdm, ffm & F_ZF, (int)pop, fp & F_ARITH,      \
          (int)popm, fpm & F_ARITH);                                                               \
    }                                                                                              \
    family_end();                                                                                  \
  }

SCAN_FAMILY(uint16_t, "w", 16)
SCAN_FAMILY(uint32_t, "l", 32)
SCAN_FAMILY(uint64_t, "q", 64)

static void test_bswap(void) {
  if (!family("bswap"))
    return;
  for (int i = 0; i < CASES; i++) {
    uint64_t q = operand(64), q2 = q;
    uint32_t d = (uint32_t)operand(32), d2 = d;
    __asm__("bswap %0" : "+r"(q2));
    __asm__("bswap %0" : "+r"(d2));
    out("q=%016" PRIx64 " -> %016" PRIx64 " d=%08x -> %08x", q, q2, d, d2);
  }
  family_end();
}

int main(int argc, char **argv) {
  insn_init(argc, argv);
  test_bt16(), test_bt32(), test_bt64();
  test_bts16(), test_bts32(), test_bts64();
  test_btr16(), test_btr32(), test_btr64();
  test_btc16(), test_btc32(), test_btc64();
  test_scan16(), test_scan32(), test_scan64();
  test_bswap();
  return 0;
}
