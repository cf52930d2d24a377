/* segments.c - segment register loads and reads, as a user program sees
 * them: mov/pop/push/lfs/lgs on FS and GS with null and valid user
 * selectors, what happens to the FS/GS base (read with arch_prctl), the
 * selector values read back, and harmless DS/ES/SS loads. "ldt" and
 * "ldt-np" load a selector of the program's own LDT. Otherwise argv[1] picks a
 * faulting case instead ("gs:0x63", "fs:0x4", "ss:0", "pop:0x10", ...):
 * the process must die with the signal the CPU raises natively. Stdout is
 * unbuffered so that output before the fault is kept.
 *
 * FS holds the C library's thread pointer, so every FS experiment saves the
 * base and restores it with raw syscalls inside one asm statement, before
 * any C code (stack protector, errno) can use it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <asm/ldt.h>
#include <unistd.h>
#include <sys/syscall.h>

#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004

static uint64_t get_base(int code) {
  uint64_t v = 0;
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(158), "D"((long)code), "S"(&v) : "rcx", "r11", "memory");
  return r ? 0xdead : v;
}

static void set_gs_base(uint64_t v) {
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(158), "D"((long)ARCH_SET_GS), "S"(v) : "rcx", "r11", "memory");
}

static uint16_t read_gs(void) {
  uint16_t v;
  __asm__ volatile("mov %%gs, %0" : "=r"(v));
  return v;
}

/* Loads GS with `sel` (base set to a marker first) and reports selector and
 * base, also after a trip through the scheduler. */
static void gs_load(uint16_t sel) {
  set_gs_base(0x1234000);
  __asm__ volatile("mov %0, %%gs" ::"r"(sel));
  /* A null selector's RPL bits are cleared natively by any exception or
   * interrupt (a timer tick, a context switch in the yield), so whether
   * they read back varies natively: compare without them. */
  uint16_t m = (sel & ~3) == 0 ? (uint16_t)~3 : 0xffff;
  uint16_t s = read_gs() & m;
  uint64_t b = get_base(ARCH_GET_GS);
  sched_yield();
  printf("mov gs,%#x: sel %#x base %#lx; after yield sel %#x base %#lx\n", sel, s, b, read_gs() & m,
         get_base(ARCH_GET_GS));
  __asm__ volatile("mov %0, %%gs" ::"r"(0));
  set_gs_base(0);
}

/* The same on FS: load, read selector and base, restore, in one asm. */
static void fs_load(uint16_t sel) {
  uint64_t saved = get_base(ARCH_GET_FS), base = 0, after;
  uint16_t s = 0;
  __asm__ volatile(
      /* base := marker */
      "mov $158, %%eax\n\tmov $0x1002, %%edi\n\tmov $0x5678000, %%esi\n\tsyscall\n\t"
      "mov %w[sel], %%fs\n\t"
      "mov %%fs, %w[s]\n\t"
      /* arch_prctl(ARCH_GET_FS, &base) */
      "mov $158, %%eax\n\tmov $0x1003, %%edi\n\tlea %[base], %%rsi\n\tsyscall\n\t"
      /* back to the null selector and the C library's base */
      "xor %%eax, %%eax\n\tmov %%eax, %%fs\n\t"
      "mov $158, %%eax\n\tmov $0x1002, %%edi\n\tmov %[saved], %%rsi\n\tsyscall\n\t"
      : [s] "=&m"(s), [base] "=m"(base)
      : [sel] "r"((uint32_t)sel), [saved] "r"(saved)
      : "rax", "rcx", "rdx", "rsi", "rdi", "r11", "memory");
  after = get_base(ARCH_GET_FS);
  /* As for GS: an interrupt between the load and the read clears a null
   * selector's RPL bits natively. */
  if ((sel & ~3) == 0) s &= (uint16_t)~3;
  printf("mov fs,%#x: sel %#x base %#lx; restored %d\n", sel, s, base, after == saved);
}

/* ARCH_SET_GS and ARCH_SET_FS make the selector null (the kernel's
 * `loadseg(GS, 0)`; tern kept 0x2b: the kernel selftest fsgsbase). */
static void arch_set_nulls(void) {
  uint16_t fs = 0;
  uint64_t saved = get_base(ARCH_GET_FS);
  __asm__ volatile("mov %0, %%gs" ::"r"(0x2b));
  set_gs_base(0x1234000);
  uint16_t gs = read_gs();
  __asm__ volatile(
      "mov %w[sel], %%fs\n\t"
      "mov $158, %%eax\n\tmov $0x1002, %%edi\n\tmov %[saved], %%rsi\n\tsyscall\n\t"
      "mov %%fs, %w[fs]\n\t"
      : [fs] "=&r"(fs)
      : [sel] "r"((uint32_t)0x2b), [saved] "r"(saved)
      : "rax", "rcx", "rdx", "rsi", "rdi", "r11", "memory");
  printf("after ARCH_SET_GS gs %#x base %#lx; after ARCH_SET_FS fs %#x\n", gs, get_base(ARCH_GET_GS), fs);
  set_gs_base(0);
}

/* Every way of reading a segment selector into a register or memory. */
static void reads(void) {
  uint64_t r64 = 0x1111111111111111, r32 = 0x2222222222222222, r16 = 0x3333333333333333;
  uint64_t mem = 0x4444444444444444;
  __asm__ volatile("mov %0, %%gs" ::"r"(0x2b));
  __asm__ volatile("mov %%gs, %0" : "+r"(r64));
  __asm__ volatile("mov %%gs, %k0" : "+r"(r32));
  __asm__ volatile("mov %%gs, %w0" : "+r"(r16));
  __asm__ volatile("movw %%gs, %0" : "+m"(mem));
  printf("mov r64 %#lx r32 %#lx r16 %#lx m16 %#lx\n", r64, r32, r16, mem);
  uint64_t w0, w1, moved0, moved1;
  /* Outputs in registers only: the stack pointer moves inside. */
  __asm__ volatile(
      "mov %%rsp, %%rdx\n\t"
      "movq $-1, -8(%%rsp)\n\tmovq $-1, -16(%%rsp)\n\t"
      "push %%gs\n\t"
      "mov %%rdx, %[m0]\n\tsub %%rsp, %[m0]\n\t"
      "mov (%%rsp), %[w0]\n\t"
      "pop %%gs\n\t"
      "pushw %%gs\n\t"
      "mov %%rdx, %[m1]\n\tsub %%rsp, %[m1]\n\t"
      "mov -6(%%rsp), %[w1]\n\t"
      "popw %%gs\n\t"
      : [m0] "=&r"(moved0), [m1] "=&r"(moved1), [w0] "=&r"(w0), [w1] "=&r"(w1)
      :
      : "rdx", "memory");
  printf("push gs: moved %ld word %#lx; pushw gs: moved %ld word %#lx gs %#x\n", (long)moved0, w0, (long)moved1,
         w1, read_gs());
  __asm__ volatile("mov %0, %%gs" ::"r"(0));
}

/* pop gs / lgs with 16-, 32- and 64-bit operand sizes. */
static void pops(void) {
  uint64_t m0, m1;
  set_gs_base(0x9000);
  __asm__ volatile(
      "mov %%rsp, %%rdx\n\t"
      "push $0x2b\n\tpop %%gs\n\t"
      "mov %%rdx, %[m0]\n\tsub %%rsp, %[m0]\n\t"
      "pushw $0x33\n\tpopw %%gs\n\t"
      "mov %%rdx, %[m1]\n\tsub %%rsp, %[m1]\n\t"
      : [m0] "=&r"(m0), [m1] "=&r"(m1)
      :
      : "rdx", "memory");
  printf("pop gs: rsp moved %ld %ld, gs %#x base %#lx\n", (long)m0, (long)m1, read_gs(), get_base(ARCH_GET_GS));
  struct __attribute__((packed)) {
    uint64_t off;
    uint16_t sel;
  } far64 = {0x0000002b55667788, 0x33}; /* AMD ignores REX.W: m16:32, selector 0x2b */
  struct __attribute__((packed)) {
    uint32_t off;
    uint16_t sel;
  } far32 = {0x99aabbcc, 0x33};
  struct __attribute__((packed)) {
    uint16_t off;
    uint16_t sel;
  } far16 = {0xddee, 0x23};
  uint64_t a = 0x5555555555555555, b = 0x6666666666666666, c = 0x7777777777777777;
  set_gs_base(0x9000);
  __asm__ volatile("rex.w lgs %1, %k0" : "+r"(a) : "m"(far64));
  uint16_t s1 = read_gs();
  __asm__ volatile("lgs %1, %k0" : "+r"(b) : "m"(far32));
  uint16_t s2 = read_gs();
  __asm__ volatile("lgs %1, %w0" : "+r"(c) : "m"(far16));
  printf("lgs: %#lx %#x, %#lx %#x, %#lx %#x, base %#lx\n", a, s1, b, s2, c, read_gs(), get_base(ARCH_GET_GS));
  uint64_t d = 0, saved = get_base(ARCH_GET_FS);
  uint16_t fsel = 0;
  __asm__ volatile(
      "rex.w lfs %[far], %k[d]\n\t"
      "mov %%fs, %w[s]\n\t"
      "xor %%eax, %%eax\n\tmov %%eax, %%fs\n\t"
      "mov $158, %%eax\n\tmov $0x1002, %%edi\n\tmov %[saved], %%rsi\n\tsyscall\n\t"
      : [d] "+r"(d), [s] "=&m"(fsel)
      : [far] "m"(far64), [saved] "r"(saved)
      : "rax", "rcx", "rsi", "rdi", "r11", "memory");
  printf("lfs: %#lx %#x\n", d, fsel);
  __asm__ volatile("mov %0, %%gs" ::"r"(0));
  set_gs_base(0);
}

/* GS-relative operands based on rsp (an index register cannot be rsp, so
 * tern must order its address arithmetic): with GS base 0 they read the
 * stack. */
static void gs_rsp(void) {
  uint64_t v = 0, w = 0;
  __asm__ volatile("push $0x1234\n\tmov %%gs:(%%rsp), %0\n\tpush %%gs:(%%rsp)\n\tpop %1\n\tadd $8, %%rsp"
                   : "=&r"(v), "=&r"(w)::"memory");
  printf("gs:(rsp) %#lx %#lx\n", v, w);
}

/* DS, ES and SS loads run as they are; tern must not care. */
static void others(void) {
  uint16_t ds, es, ss;
  __asm__ volatile("mov %0, %%ds\n\tmov %0, %%es" ::"r"(0x2b));
  __asm__ volatile("mov %%ds, %0" : "=r"(ds));
  __asm__ volatile("mov %%es, %0" : "=r"(es));
  __asm__ volatile("mov %%ss, %%ax\n\tmov %%ax, %%ss\n\tmov %%ss, %0" : "=r"(ss)::"rax");
  __asm__ volatile("mov %0, %%ds\n\tmov %0, %%es" ::"r"(0));
  printf("ds %#x es %#x ss %#x\n", ds, es, ss);
  uint64_t v = 0;
  __asm__ volatile("mov %%ss, %%eax\n\tmov %%eax, %%ds\n\tmov %%ds, %0\n\t" : "=r"(v)::"rax");
  printf("ds=ss %#lx\n", v);
}

static volatile uint16_t bad;

/* An LDT entry 0 with base 0x10000, present or not: loading selector 7
 * (LDT, RPL 3) gives that base, or #NP (SIGBUS) when not present. */
static void ldt(int present) {
  struct user_desc d = {0};
  d.entry_number = 0;
  d.base_addr = 0x10000;
  d.limit = 0xfffff;
  d.seg_32bit = 1;
  d.limit_in_pages = 1;
  d.seg_not_present = !present;
  d.useable = 1;
  long r = syscall(SYS_modify_ldt, 1, &d, sizeof d);
  printf("modify_ldt %ld\n", r);
  if (r)
    return;
  set_gs_base(0x1234000);
  __asm__ volatile("mov %0, %%gs" ::"r"(7));
  printf("ldt gs %#x base %#lx\n", read_gs(), get_base(ARCH_GET_GS));
  __asm__ volatile("mov %0, %%gs" ::"r"(0));
}

static void fault(const char *what) {
  char reg[4] = {0};
  unsigned sel = 0;
  if (sscanf(what, "%3[a-z]:%x", reg, &sel) != 2) {
    printf("bad case %s\n", what);
    exit(2);
  }
  bad = (uint16_t)sel;
  printf("loading %s with %#x\n", reg, sel);
  if (!strcmp(reg, "gs"))
    __asm__ volatile("mov %0, %%gs" ::"m"(bad));
  else if (!strcmp(reg, "fs"))
    __asm__ volatile("mov %0, %%fs" ::"m"(bad));
  else if (!strcmp(reg, "ss"))
    __asm__ volatile("mov %0, %%ss" ::"m"(bad));
  else if (!strcmp(reg, "ds"))
    __asm__ volatile("mov %0, %%ds" ::"m"(bad));
  else if (!strcmp(reg, "pop"))
    __asm__ volatile("push %0\n\tpop %%gs" ::"r"((uint64_t)sel) : "memory");
  else if (!strcmp(reg, "lgs")) {
    struct __attribute__((packed)) {
      uint32_t off;
      uint16_t sel;
    } far = {1, (uint16_t)sel};
    uint32_t r;
    __asm__ volatile("lgs %1, %0" : "=r"(r) : "m"(far));
  } else if (!strcmp(reg, "lss")) {
    struct __attribute__((packed)) {
      uint64_t off;
      uint16_t sel;
    } far = {1, (uint16_t)sel};
    uint64_t r;
    __asm__ volatile("mov %%rsp, %%rdx\n\trex.w lss %1, %k0\n\tmov %%rdx, %%rsp" : "=r"(r) : "m"(far) : "rdx");
  }
  printf("loaded %s with %#x\n", reg, sel);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc > 1 && !strncmp(argv[1], "ldt", 3)) {
    ldt(!strcmp(argv[1], "ldt"));
    return 0;
  }
  if (argc > 1) {
    fault(argv[1]);
    return 0;
  }
  for (unsigned sel = 0; sel < 4; sel++)
    gs_load(sel);
  gs_load(0x2b);
  gs_load(0x28);
  gs_load(0x33);
  gs_load(0x23);
  for (unsigned sel = 0; sel < 4; sel++)
    fs_load(sel);
  fs_load(0x2b);
  fs_load(0x33);
  reads();
  arch_set_nulls();
  pops();
  others();
  gs_rsp();
  return 0;
}
