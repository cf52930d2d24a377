/* insn_atomic.c - exchange and locked instructions: xchg (register and
 * memory), cmpxchg (plain and lock, equal and unequal), xadd (plain and
 * lock), lock cmpxchg8b / cmpxchg16b, and lock-prefixed read-modify-write
 * arithmetic with its flags. Single-threaded: this checks the results and
 * flags, not atomicity. */
#include "insn_common.h"

#define ATOMIC_FAMILY(T, sfx, bits)                                                              \
  static void test_atomic##bits(void) {                                                           \
    if (!family("xchg_cmpxchg_xadd" #bits))                                                        \
      return;                                                                                      \
    for (int i = 0; i < CASES; i++) {                                                              \
      T a = (T)operand(bits), b = (T)operand(bits), m0 = (T)operand(bits);                         \
      uint64_t fin = flags_in();                                                                   \
      /* xchg reg, reg and reg, mem */                                                             \
      T x1 = a, x2 = b, xm = m0, xr = a;                                                           \
      __asm__ volatile("xchg %[x], %[y]" : [x] "+r"(x1), [y] "+r"(x2));                            \
      __asm__ volatile("xchg" sfx " %[r], (%[p])" : [r] "+r"(xr) : [p] "r"(&xm) : "memory");      \
      /* cmpxchg: the accumulator matches memory half the time */                                  \
      T acc = rnd_below(2) ? m0 : a, cm = m0, cacc = acc, racc = acc, rdst = m0;                   \
      uint64_t fc = fin, fr = fin;                                                                 \
      __asm__ volatile(SET_FLAGS "lock cmpxchg" sfx " %[n], (%[p])\n\t" GET_FLAGS                  \
                       : "+a"(cacc), [fl] "+r"(fc) : [n] "r"(b), [p] "r"(&cm) : "cc", "memory");    \
      __asm__ volatile(SET_FLAGS "cmpxchg %[n], %[d]\n\t" GET_FLAGS                                \
                       : "+a"(racc), [d] "+r"(rdst), [fl] "+r"(fr) : [n] "r"(b) : "cc");            \
      /* xadd */                                                                                   \
      T xa = b, xam = m0, xb = b, xbd = a;                                                         \
      uint64_t fx = fin, fxr = fin;                                                                \
      __asm__ volatile(SET_FLAGS "lock xadd" sfx " %[r], (%[p])\n\t" GET_FLAGS                     \
                       : [r] "+r"(xa), [fl] "+r"(fx) : [p] "r"(&xam) : "cc", "memory");            \
      __asm__ volatile(SET_FLAGS "xadd %[r], %[d]\n\t" GET_FLAGS                                   \
                       : [r] "+r"(xb), [d] "+r"(xbd), [fl] "+r"(fxr) : : "cc");                    \
      int w = bits / 4;                                                                            \
      out("a=%0*" PRIx64 " b=%0*" PRIx64 " m=%0*" PRIx64 " acc=%0*" PRIx64 " f=%03" PRIx64        \
          ": xchg %0*" PRIx64 " %0*" PRIx64 " xchgm %0*" PRIx64 " %0*" PRIx64 " cmpxchg %0*" PRIx64 \
          " %0*" PRIx64 " %03" PRIx64 " reg %0*" PRIx64 " %0*" PRIx64 " %03" PRIx64                \
          " xadd %0*" PRIx64 " %0*" PRIx64 " %03" PRIx64 " reg %0*" PRIx64 " %0*" PRIx64 " %03" PRIx64, \
          w, (uint64_t)a, w, (uint64_t)b, w, (uint64_t)m0, w, (uint64_t)acc, fin & F_ARITH, w,     \
          (uint64_t)x1, w, (uint64_t)x2, w, (uint64_t)xr, w, (uint64_t)xm, w, (uint64_t)cacc, w,   \
          (uint64_t)cm, fc & F_ARITH, w, (uint64_t)racc, w, (uint64_t)rdst, fr & F_ARITH, w,       \
          (uint64_t)xa, w, (uint64_t)xam, fx & F_ARITH, w, (uint64_t)xb, w, (uint64_t)xbd,         \
          fxr & F_ARITH);                                                                          \
    }                                                                                              \
    family_end();                                                                                  \
  }

ATOMIC_FAMILY(uint8_t, "b", 8)
ATOMIC_FAMILY(uint16_t, "w", 16)
ATOMIC_FAMILY(uint32_t, "l", 32)
ATOMIC_FAMILY(uint64_t, "q", 64)

static void test_cmpxchg16b(void) {
  if (!family("cmpxchg8b_16b"))
    return;
  static struct {
    uint64_t lo, hi;
  } __attribute__((aligned(16))) m;
  for (int i = 0; i < CASES; i++) {
    uint64_t m_lo = operand(64), m_hi = operand(64);
    int equal = (int)rnd_below(2);
    uint64_t a_lo = equal ? m_lo : operand(64), a_hi = equal || rnd_below(2) ? m_hi : operand(64);
    uint64_t n_lo = operand(64), n_hi = operand(64), fin = flags_in(), f16 = fin, f8 = fin;
    m.lo = m_lo, m.hi = m_hi;
    uint64_t rax = a_lo, rdx = a_hi;
    __asm__ volatile(SET_FLAGS "lock cmpxchg16b (%[p])\n\t" GET_FLAGS
                     : "+a"(rax), "+d"(rdx), [fl] "+r"(f16)
                     : "b"(n_lo), "c"(n_hi), [p] "r"(&m)
                     : "cc", "memory");
    uint64_t r16_lo = m.lo, r16_hi = m.hi;
    /* cmpxchg8b on the low quadword: edx:eax against memory, ecx:ebx new */
    m.lo = m_lo;
    uint64_t eax = (uint32_t)a_lo, edx = equal ? (uint32_t)(m_lo >> 32) : (uint32_t)a_hi;
    __asm__ volatile(SET_FLAGS "lock cmpxchg8b (%[p])\n\t" GET_FLAGS
                     : "+a"(eax), "+d"(edx), [fl] "+r"(f8)
                     : "b"((uint32_t)n_lo), "c"((uint32_t)n_hi), [p] "r"(&m)
                     : "cc", "memory");
    out("m=%016" PRIx64 "%016" PRIx64 " cmp=%016" PRIx64 "%016" PRIx64 " new=%016" PRIx64
        "%016" PRIx64 " f=%03" PRIx64 ": 16b m=%016" PRIx64 "%016" PRIx64 " rdx:rax=%016" PRIx64
        "%016" PRIx64 " %03" PRIx64 " 8b m=%016" PRIx64 " edx:eax=%08" PRIx64 "%08" PRIx64
        " %03" PRIx64,
        m_hi, m_lo, a_hi, a_lo, n_hi, n_lo, fin & F_ARITH, r16_hi, r16_lo, rdx, rax,
        f16 & F_ARITH, m.lo, edx, eax, f8 & F_ARITH);
  }
  family_end();
}

/* lock-prefixed read-modify-write with a register or immediate source. */
#define LOCKED_RMW(name, insn)                                                                   \
  {                                                                                               \
    uint64_t v = m0, f = fin;                                                                     \
    __asm__ volatile(SET_FLAGS insn "\n\t" GET_FLAGS                                              \
                     : [fl] "+r"(f) : [s] "r"(src), [p] "r"(&v) : "cc", "memory");                \
    h = fnv_u64(fnv_u64(h, v), f & mask);                                                        \
    if (i < 4)                                                                                    \
      printf("  %s: %016" PRIx64 " %03" PRIx64 "\n", name, v, f & mask);                         \
  }

static void test_locked_rmw(void) {
  if (!family("lock_rmw"))
    return;
  for (int i = 0; i < CASES; i++) {
    uint64_t m0 = operand(64), src = operand(64), fin = flags_in(), h = FNV_INIT, mask = F_ARITH;
    LOCKED_RMW("add", "lock addq %[s], (%[p])")
    LOCKED_RMW("adc", "lock adcq %[s], (%[p])")
    LOCKED_RMW("sub", "lock subq %[s], (%[p])")
    LOCKED_RMW("sbb", "lock sbbl %k[s], (%[p])")
    LOCKED_RMW("inc", "lock incq (%[p])")
    LOCKED_RMW("dec", "lock decw (%[p])")
    LOCKED_RMW("neg", "lock negq (%[p])")
    LOCKED_RMW("not", "lock notq (%[p])")
    LOCKED_RMW("addi", "lock addl $0x7fffffff, (%[p])")
    mask = F_ARITH & ~F_AF;
    LOCKED_RMW("and", "lock andq %[s], (%[p])")
    LOCKED_RMW("or", "lock orb %b[s], (%[p])")
    LOCKED_RMW("xor", "lock xorq %[s], (%[p])")
    mask = F_CF;
    src &= 63; /* a register bit offset would otherwise address far memory */
    LOCKED_RMW("bts", "lock btsq %[s], (%[p])")
    LOCKED_RMW("btr", "lock btrl $5, (%[p])")
    LOCKED_RMW("btc", "lock btcq $63, (%[p])")
    out("m=%016" PRIx64 " s=%016" PRIx64 " f=%03" PRIx64 ": %016" PRIx64, m0, src, fin & F_ARITH, h);
  }
  family_end();
}

int main(int argc, char **argv) {
  insn_init(argc, argv);
  test_atomic8(), test_atomic16(), test_atomic32(), test_atomic64();
  test_cmpxchg16b();
  test_locked_rmw();
  return 0;
}
