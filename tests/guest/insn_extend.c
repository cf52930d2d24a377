/* insn_extend.c - sign/zero extension and partial registers: cbw cwde
 * cdqe cwd cdq cqo, movsx/movzx from 8/16/32 bits (register and memory),
 * 8- and 16-bit writes that keep the upper register bits, 32-bit writes
 * that clear them, and the legacy high-byte registers ah/bh/ch/dh. */
#include "insn_common.h"

static void test_accumulator_extend(void) {
  if (!family("cbw_cwde_cdqe_cwd_cdq_cqo"))
    return;
  for (int i = 0; i < CASES; i++) {
    uint64_t v = operand(64), junk = rnd64();
    uint64_t a1 = v, a2 = v, a3 = v, a4 = v, d4 = junk, a5 = v, d5 = junk, a6 = v, d6 = junk;
    __asm__("cbtw" : "+a"(a1));
    __asm__("cwtl" : "+a"(a2));
    __asm__("cltq" : "+a"(a3));
    __asm__("cwtd" : "+a"(a4), "+d"(d4));
    __asm__("cltd" : "+a"(a5), "+d"(d5));
    __asm__("cqto" : "+a"(a6), "+d"(d6));
    out("v=%016" PRIx64 " rdx=%016" PRIx64 ": cbw %016" PRIx64 " cwde %016" PRIx64
        " cdqe %016" PRIx64 " cwd %016" PRIx64 " cdq %016" PRIx64 " cqo %016" PRIx64, v, junk,
        a1, a2, a3, d4, d5, d6);
  }
  family_end();
}

#define MOVX(insn, dst)                                                           \
  {                                                                               \
    uint64_t r = pre, rm = pre;                                                   \
    __asm__(insn " %" src_mod "[s], %" dst "[d]" : [d] "+r"(r) : [s] "r"(v));     \
    h = fnv_u64(h, r);                                                            \
    __asm__(insn " (%[p]), %" dst "[d]" : [d] "+r"(rm) : [p] "r"(&v), "m"(v));    \
    h = fnv_u64(h, rm);                                                           \
    if (r != rm)                                                                  \
      mismatch++;                                                                 \
  }

static void test_movx(void) {
  if (!family("movsx_movzx"))
    return;
  int mismatch = 0;
  for (int i = 0; i < CASES; i++) {
    uint64_t v = operand(64), pre = rnd64(), h = FNV_INIT;
#define src_mod "b"
    MOVX("movsbw", "w")
    MOVX("movsbl", "k")
    MOVX("movsbq", "q")
    MOVX("movzbw", "w")
    MOVX("movzbl", "k")
    MOVX("movzbq", "q")
#undef src_mod
#define src_mod "w"
    MOVX("movswl", "k")
    MOVX("movswq", "q")
    MOVX("movzwl", "k")
    MOVX("movzwq", "q")
#undef src_mod
#define src_mod "k"
    MOVX("movslq", "q")
#undef src_mod
    uint64_t sbq = pre, zwl = pre;
    __asm__("movsbq %b[s], %[d]" : [d] "+r"(sbq) : [s] "r"(v));
    __asm__("movzwl %w[s], %k[d]" : [d] "+r"(zwl) : [s] "r"(v));
    out("v=%016" PRIx64 " pre=%016" PRIx64 ": movsbq %016" PRIx64 " movzwl %016" PRIx64
        " all %016" PRIx64, v, pre, sbq, zwl, h);
  }
  printf("register and memory forms disagree: %d\n", mismatch);
  family_end();
}

static void test_partial_writes(void) {
  if (!family("partial_registers"))
    return;
  for (int i = 0; i < CASES; i++) {
    uint64_t a = rnd64(), b = operand(64), c = rnd64(), d = rnd64();
    uint64_t r8 = a, r16 = a, r32 = a, add8 = a, add16 = a, add32 = a, inc8 = a, neg16 = a;
    __asm__("movb %b[s], %b[d]" : [d] "+r"(r8) : [s] "r"(b));
    __asm__("movw %w[s], %w[d]" : [d] "+r"(r16) : [s] "r"(b));
    __asm__("movl %k[s], %k[d]" : [d] "+r"(r32) : [s] "r"(b));
    __asm__("addb %b[s], %b[d]" : [d] "+r"(add8) : [s] "r"(b) : "cc");
    __asm__("addw %w[s], %w[d]" : [d] "+r"(add16) : [s] "r"(b) : "cc");
    __asm__("addl %k[s], %k[d]" : [d] "+r"(add32) : [s] "r"(b) : "cc");
    __asm__("incb %b[d]" : [d] "+r"(inc8) : : "cc");
    __asm__("negw %w[d]" : [d] "+r"(neg16) : : "cc");
    /* high-byte registers need the legacy (REX-free) encodings */
    uint64_t ra = a, rb = b, rc = c, rd = d;
    __asm__("movb %%ah, %%bl\n\t"
            "addb %%ch, %%ah\n\t"
            "xchgb %%dh, %%cl\n\t"
            "movb %%al, %%bh\n\t"
            "incb %%dh\n\t"
            "movzbl %%bh, %%esi\n\t"
            "addl %%esi, %%edx\n\t"
            : "+a"(ra), "+b"(rb), "+c"(rc), "+d"(rd)
            :
            : "rsi", "cc");
    out("a=%016" PRIx64 " b=%016" PRIx64 ": mov %016" PRIx64 " %016" PRIx64 " %016" PRIx64
        " add %016" PRIx64 " %016" PRIx64 " %016" PRIx64 " inc8 %016" PRIx64 " neg16 %016" PRIx64
        " high %016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %016" PRIx64,
        a, b, r8, r16, r32, add8, add16, add32, inc8, neg16, ra, rb, rc, rd);
  }
  family_end();
}

int main(int argc, char **argv) {
  insn_init(argc, argv);
  test_accumulator_extend();
  test_movx();
  test_partial_writes();
  return 0;
}
