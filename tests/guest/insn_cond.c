/* insn_cond.c - everything that reads the flags: setcc (register, which
 * keeps the upper bits, and memory), cmovcc (64-bit, 32-bit which always
 * zero-extends even when the condition is false, 16-bit, memory source)
 * and jcc, for all 16 conditions under random input flags; loop, loope,
 * loopne, jrcxz; and the flag instructions stc clc cmc lahf sahf. */
#include "insn_common.h"

#define CONDITIONS(X) \
  X(o) X(no) X(b) X(ae) X(e) X(ne) X(be) X(a) X(s) X(ns) X(p) X(np) X(l) X(ge) X(le) X(g)

/* Runs every form for condition `cc`, recording bit `bit` of the masks
 * and folding the full results into `h`. */
#define ONE_CONDITION(cc)                                                                       \
  {                                                                                             \
    uint64_t set = pre, c64 = b, c32 = b, c16 = b, cm = b, fl = fin, j;                         \
    uint8_t setm = 0x55;                                                                        \
    __asm__ volatile(SET_FLAGS "set" #cc " %b[d]\n\tset" #cc " (%[p])\n\t"                      \
                     "cmov" #cc " %[s], %[c64]\n\tcmov" #cc " %k[s], %k[c32]\n\t"               \
                     "cmov" #cc " %w[s], %w[c16]\n\tcmov" #cc "q (%[ps]), %[cm]\n\t" GET_FLAGS  \
                     : [d] "+r"(set), [c64] "+r"(c64), [c32] "+r"(c32), [c16] "+r"(c16),        \
                       [cm] "+r"(cm), [fl] "+r"(fl)                                             \
                     : [s] "r"(a), [p] "r"(&setm), [ps] "r"(&a)                                 \
                     : "cc", "memory");                                                         \
    fl = fin;                                                                                   \
    __asm__ volatile(SET_FLAGS "j" #cc " 1f\n\tmovl $0, %k[j]\n\tjmp 2f\n"                      \
                     "1:\n\tmovl $1, %k[j]\n"                                                   \
                     "2:\n\tlea 128(%%rsp), %%rsp\n\t"                                          \
                     : [j] "=r"(j) : [fl] "r"(fl) : "cc");                                      \
    setmask |= (set & 1) << bit;                                                                \
    jmask |= j << bit;                                                                          \
    cmask |= (uint64_t)(c64 == a) << bit;                                                       \
    h = fnv_u64(h, set);                                                                        \
    h = fnv_u64(h, setm);                                                                       \
    h = fnv_u64(h, c64);                                                                        \
    h = fnv_u64(h, c32);                                                                        \
    h = fnv_u64(h, c16);                                                                        \
    h = fnv_u64(h, cm);                                                                         \
    bit++;                                                                                      \
  }

static void test_conditions(void) {
  if (!family("setcc_cmovcc_jcc"))
    return;
  for (int i = 0; i < CASES; i++) {
    uint64_t a = operand(64), b = operand(64) ^ 0x100000000ull, pre = rnd64();
    uint64_t fin = 0x2 | (rnd64() & F_ARITH);
    uint64_t setmask = 0, jmask = 0, cmask = 0, h = FNV_INIT;
    int bit = 0;
    CONDITIONS(ONE_CONDITION)
    out("f=%03" PRIx64 " set=%04" PRIx64 " jcc=%04" PRIx64 " cmov=%04" PRIx64 " all=%016" PRIx64,
        fin & F_ARITH, setmask, jmask, cmask, h);
  }
  family_end();
}

static void test_loops(void) {
  if (!family("loop_jrcxz"))
    return;
  for (int i = 0; i < CASES; i++) {
    uint64_t start = rnd_below(4) ? rnd_below(40) : operand(64) & 0xff;
    uint64_t fin = flags_in(), fl;
    uint64_t rcx = start, iters = 0, jr;
    /* loope/loopne with rcx = 0 would run 2^64 times: start them at 1 or more */
    uint64_t rcx_e = start + 1, it_e = 0, rcx_ne = start + 1, it_ne = 0;
    /* loop: at least one pass; rcx = 0 wraps, so cap the start */
    __asm__ volatile("test %[c], %[c]\n\tjz 2f\n1:\n\tinc %[n]\n\tloop 1b\n2:\n\t"
                     : [c] "+c"(rcx), [n] "+r"(iters) : : "cc");
    /* loope / loopne: ZF comes from comparing the counter with a limit */
    uint64_t lim = rnd_below(20);
    fl = fin;
    __asm__ volatile(SET_FLAGS "1:\n\tinc %[n]\n\tcmp %[lim], %[n]\n\tloope 1b\n\t" GET_FLAGS
                     : [c] "+c"(rcx_e), [n] "+r"(it_e), [fl] "+r"(fl) : [lim] "r"(lim) : "cc");
    uint64_t fe = fl & F_ARITH;
    fl = fin;
    __asm__ volatile(SET_FLAGS "1:\n\tinc %[n]\n\tcmp %[lim], %[n]\n\tloopne 1b\n\t" GET_FLAGS
                     : [c] "+c"(rcx_ne), [n] "+r"(it_ne), [fl] "+r"(fl) : [lim] "r"(lim) : "cc");
    uint64_t rc = start & 1 ? 0 : start;
    __asm__ volatile("movl $0, %k[j]\n\tjrcxz 1f\n\tmovl $1, %k[j]\n1:\n\t"
                     : [j] "=&r"(jr) : "c"(rc) : "cc");
    out("start=%" PRIu64 " lim=%" PRIu64 ": loop %" PRIu64 " rcx %" PRIx64 " loope %" PRIu64
        " rcx %" PRIx64 " %03" PRIx64 " loopne %" PRIu64 " rcx %" PRIx64 " %03" PRIx64 " jrcxz(%" PRIu64 ") %" PRIu64,
        start, lim, iters, rcx, it_e, rcx_e, fe, it_ne, rcx_ne, fl & F_ARITH, rc, jr);
  }
  family_end();
}

static void test_flag_ops(void) {
  if (!family("flag_ops"))
    return;
  for (int i = 0; i < CASES; i++) {
    uint64_t fin = flags_in(), f_stc = fin, f_clc = fin, f_cmc = fin, f_sahf = fin, ah_out;
    uint64_t ah_in = rnd64() & 0xff;
    __asm__ volatile(SET_FLAGS "stc\n\t" GET_FLAGS : [fl] "+r"(f_stc) : : "cc");
    __asm__ volatile(SET_FLAGS "clc\n\t" GET_FLAGS : [fl] "+r"(f_clc) : : "cc");
    __asm__ volatile(SET_FLAGS "cmc\n\t" GET_FLAGS : [fl] "+r"(f_cmc) : : "cc");
    uint64_t rax = ah_in << 8;
    __asm__ volatile(SET_FLAGS "sahf\n\t" GET_FLAGS : [fl] "+r"(f_sahf), "+a"(rax) : : "cc");
    uint64_t f_lahf = fin;
    rax = 0x1234567800000000ull;
    __asm__ volatile(SET_FLAGS "lahf\n\t" GET_FLAGS : [fl] "+r"(f_lahf), "+a"(rax) : : "cc");
    ah_out = rax;
    out("f=%03" PRIx64 " ah=%02" PRIx64 ": stc %03" PRIx64 " clc %03" PRIx64 " cmc %03" PRIx64
        " sahf %03" PRIx64 " lahf rax=%016" PRIx64, fin & F_ARITH, ah_in, f_stc & F_ARITH,
        f_clc & F_ARITH, f_cmc & F_ARITH, f_sahf & F_ARITH, ah_out);
  }
  family_end();
}

int main(int argc, char **argv) {
  insn_init(argc, argv);
  test_conditions();
  test_loops();
  test_flag_ops();
  return 0;
}
