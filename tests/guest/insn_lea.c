/* insn_lea.c - address arithmetic with lea: base, index, scale 1/2/4/8,
 * 8- and 32-bit displacements, no base, 32-bit and 16-bit destinations,
 * 32-bit address size (0x67 prefix), r13 and rsp bases (special ModRM/SIB
 * encodings) and rip-relative addressing (as a difference of two leas, so
 * no absolute address is printed). */
#include "insn_common.h"

#define LEA(form, dst_mod)                                                            \
  {                                                                                   \
    uint64_t r = pre;                                                                 \
    __asm__("lea " form ", %" dst_mod "[d]" : [d] "+r"(r) : [b] "r"(base), [i] "r"(index)); \
    h = fnv_u64(h, r);                                                                \
    if (shown < 3)                                                                    \
      printf("  %-28s %016" PRIx64 "\n", form, r);                                    \
  }

static void test_lea(void) {
  if (!family("lea"))
    return;
  int shown = 0;
  for (int i = 0; i < CASES; i++) {
    uint64_t base = operand(64), index = operand(64), pre = rnd64(), h = FNV_INIT;
    LEA("(%[b])", "q")
    LEA("0x7f(%[b])", "q")
    LEA("-0x80(%[b])", "q")
    LEA("0x12345678(%[b])", "q")
    LEA("-0x7fffffff(%[b])", "q")
    LEA("(%[b],%[i])", "q")
    LEA("(%[b],%[i],2)", "q")
    LEA("(%[b],%[i],4)", "q")
    LEA("(%[b],%[i],8)", "q")
    LEA("-8(%[b],%[i],8)", "q")
    LEA("0x10000(%[b],%[i],2)", "q")
    LEA("(,%[i],4)", "q")
    LEA("0x1234(,%[i],8)", "q")
    LEA("(%[b],%[i],4)", "k")
    LEA("-1(%[b])", "k")
    LEA("(%[b],%[i],2)", "w")
    LEA("(%k[b],%k[i],4)", "k")
    LEA("0x7fffffff(%k[b],%k[i],8)", "q")
    LEA("-3(%k[b])", "w")
    shown++;
    /* r13 as a base needs an explicit zero displacement byte */
    register uint64_t r13 __asm__("r13") = base;
    uint64_t r13a, r13b, rsp_off, rip_off;
    __asm__("lea (%[b]), %[d]" : [d] "=r"(r13a) : [b] "r"(r13));
    __asm__("lea 3(%[b],%[i],2), %[d]" : [d] "=r"(r13b) : [b] "r"(r13), [i] "r"(index));
    /* rsp as a base needs a SIB byte */
    __asm__("lea 0x28(%%rsp), %[d]\n\tsub %%rsp, %[d]" : [d] "=&r"(rsp_off) : : "cc");
    __asm__("lea 2f(%%rip), %[d]\n\tlea 1f(%%rip), %%rax\n1:\n\tsub %%rax, %[d]\n2:\n\t"
            : [d] "=&r"(rip_off)
            :
            : "rax", "cc");
    out("b=%016" PRIx64 " i=%016" PRIx64 ": %016" PRIx64 " r13 %016" PRIx64 " %016" PRIx64
        " rsp+%" PRIu64 " rip+%" PRIu64, base, index, h, r13a, r13b, rsp_off, rip_off);
  }
  family_end();
}

int main(int argc, char **argv) {
  insn_init(argc, argv);
  test_lea();
  return 0;
}
