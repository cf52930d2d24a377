/* insn_glue.c - the instructions tern rewrites rather than copies: FS-relative
 * operands (TLS), RIP-relative operands, indirect calls and jumps through
 * registers, memory and RIP-relative tables, returns (with imm16), the loop
 * family and jrcxz, and the guest flags across every kind of branch. Each
 * check prints a line; the native run is the oracle. */
#include <stdint.h>
#include <stdio.h>

static __thread uint64_t tls_arr[64];
static __thread uint32_t tls_small = 7;
static uint64_t table[16];

#define FLAGS_MASK 0x8d5ul /* OF SF ZF AF PF CF */
/* Set the arithmetic flags from %[fin] / read them into %[fout], stepping
 * over the red zone so the pushes never touch the compiler's data. */
#define SETF "lea -128(%%rsp), %%rsp\n\tpushfq\n\tandq $~0x8d5, (%%rsp)\n\torq %[fin], (%%rsp)\n\tpopfq\n\t"
#define GETF "\n\tpushfq\n\tpopq %[fout]\n\tlea 128(%%rsp), %%rsp"

__attribute__((noinline)) static uint64_t plus_one(uint64_t x) { return x + 1; }
__attribute__((noinline)) static uint64_t times_three(uint64_t x) { return x * 3; }
static uint64_t (*volatile fns[2])(uint64_t) = {plus_one, times_three};

static uint64_t xs = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
  xs ^= xs << 13;
  xs ^= xs >> 7;
  xs ^= xs << 17;
  return xs;
}

static void tls_checks(void) {
  for (int i = 0; i < 64; i++) tls_arr[i] = rnd();
  uint64_t s = 0;
  for (int i = 0; i < 64; i++) s = s * 31 + tls_arr[(i * 7) & 63] + tls_small;
  printf("tls sum %016llx\n", (unsigned long long)s);
  uint64_t tp, tp2;
  __asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
  __asm__ volatile("xor %%eax, %%eax\n\tmov %%fs:(%%rax), %0" : "=r"(tp2) : : "rax");
  printf("fs:0 consistent %d\n", tp == tp2);
  uint64_t off = (uint64_t)&tls_arr[0] - tp, idx = 5, v, fl;
  tls_arr[5] = 0x1234;
  __asm__ volatile(SETF "addq $1, %%fs:(%[o],%[i],8)\n\tmovq %%fs:(%[o],%[i],8), %[v]" GETF
                   : [fout] "=&r"(fl), [v] "=&r"(v)
                   : [fin] "r"(0x8d5ul), [o] "r"(off), [i] "r"(idx)
                   : "memory", "cc");
  printf("fs rmw %llx flags %lx\n", (unsigned long long)v, fl & FLAGS_MASK);
  uint64_t small_off = (uint64_t)&tls_small - tp;
  __asm__ volatile(SETF "cmpl $9, %%fs:(%[o])" GETF
                   : [fout] "=&r"(fl) : [fin] "r"(0x41ul), [o] "r"(small_off) : "cc");
  printf("fs cmp flags %lx\n", fl & FLAGS_MASK);
  /* an FS-relative push and pop */
  __asm__ volatile("pushq %%fs:0\n\tpopq %0" : "=r"(v) : : "memory");
  printf("fs push/pop same %d\n", v == tp);
  /* An indirect jump through an fs:-relative pointer with rcx and rdx in
   * the address (tern borrows both for the lookup). */
  long off5 = (long)((char *)&tls_arr[5] - (char *)tp);
  uint64_t hit = 0;
  __asm__ volatile("lea 1f(%%rip), %%rax\n\tmov %%rax, (%[slot])\n\tmov %[off], %%rcx\n\t"
                   "xor %%edx, %%edx\n\tjmp *%%fs:(%%rcx,%%rdx,1)\n\tmovq $1, %[hit]\n1:\n\taddq $2, %[hit]"
                   : [hit] "+r"(hit)
                   : [slot] "r"(&tls_arr[5]), [off] "r"(off5)
                   : "rax", "rcx", "rdx", "cc", "memory");
  printf("fs jmp via rcx+rdx %llu\n", (unsigned long long)hit);
}

static void rip_checks(void) {
  for (int i = 0; i < 16; i++) table[i] = rnd();
  uint64_t v, fl;
  __asm__ volatile(SETF "movq %[t1], %[v]\n\tadcq %[t2], %[v]" GETF
                   : [fout] "=&r"(fl), [v] "=&r"(v)
                   : [fin] "r"(1ul), [t1] "m"(table[1]), [t2] "m"(table[2])
                   : "cc");
  printf("rip adc %016llx flags %lx\n", (unsigned long long)v, fl & FLAGS_MASK);
}

static void branch_checks(void) {
  uint64_t acc = 1;
  for (int i = 0; i < 1000; i++) acc = fns[(acc ^ i) & 1](acc) & 0xffffffffffull;
  printf("indirect calls %llx\n", (unsigned long long)acc);
  for (unsigned long in = 0; in < 0x900; in += 0x41) {
    uint64_t f1, f2, f3;
    __asm__ volatile(SETF "call 1f\n\tjmp 2f\n1:\n\tret\n2:" GETF
                     : [fout] "=&r"(f1) : [fin] "r"(in & FLAGS_MASK) : "cc", "memory");
    __asm__ volatile(SETF "lea 1f(%%rip), %%rcx\n\tjmp *%%rcx\n1:" GETF
                     : [fout] "=&r"(f2) : [fin] "r"(in & FLAGS_MASK) : "cc", "rcx");
    __asm__ volatile(SETF "pushq $0\n\tlea 1f(%%rip), %%rax\n\tpushq %%rax\n\tret $8\n1:" GETF
                     : [fout] "=&r"(f3) : [fin] "r"(in & FLAGS_MASK) : "cc", "rax", "memory");
    printf("flags in %03lx call/ret %03lx jmp* %03lx ret-imm %03lx\n", in & FLAGS_MASK,
           f1 & FLAGS_MASK, f2 & FLAGS_MASK, f3 & FLAGS_MASK);
  }
  static void *labels[] = {&&l0, &&l1, &&l2};
  uint64_t sum = 0;
  for (volatile int i = 0; i < 30; i++) {
    goto *labels[i % 3];
  l0:
    sum += 1;
    continue;
  l1:
    sum += 10;
    continue;
  l2:
    sum += 100;
  }
  printf("computed goto %llu\n", (unsigned long long)sum);
  uint64_t r;
  __asm__ volatile("lea -128(%%rsp), %%rsp\n\tlea 1f(%%rip), %%rax\n\tpushq %%rax\n\tcall *(%%rsp)\n\t"
                   "jmp 2f\n1:\n\tmovq $77, %0\n\tret\n2:\n\tpopq %%rax\n\tlea 128(%%rsp), %%rsp"
                   : "=&r"(r) : : "rax", "memory");
  printf("call *(rsp) %llu\n", (unsigned long long)r);
}

static void loop_checks(void) {
  uint64_t n, fl;
  __asm__ volatile(SETF "movq $5, %%rcx\n\txorl %k[n], %k[n]\n1:\n\tleaq 1(%[n]), %[n]\n\tloop 1b" GETF
                   : [fout] "=&r"(fl), [n] "=&r"(n) : [fin] "r"(0x8d5ul) : "rcx", "cc");
  printf("loop n %llu flags %lx\n", (unsigned long long)n, fl & FLAGS_MASK);
  __asm__ volatile(SETF "movq $30, %%rcx\n\txorl %k[n], %k[n]\n1:\n\tincq %[n]\n\tcmpq $10, %[n]\n\tloopne 1b" GETF
                   : [fout] "=&r"(fl), [n] "=&r"(n) : [fin] "r"(0ul) : "rcx", "cc");
  printf("loopne n %llu flags %lx\n", (unsigned long long)n, fl & FLAGS_MASK);
  for (uint64_t c = 0; c < 3; c++) {
    uint64_t hit;
    __asm__ volatile("movq %1, %%rcx\n\tmovq $1, %0\n\tjrcxz 1f\n\tmovq $2, %0\n1:" : "=&r"(hit) : "r"(c) : "rcx");
    printf("jrcxz rcx=%llu -> %llu\n", (unsigned long long)c, (unsigned long long)hit);
  }
}

int main(void) {
  tls_checks();
  rip_checks();
  branch_checks();
  loop_checks();
  return 0;
}
