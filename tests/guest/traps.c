/* traps.c - instructions that end the process with a signal, chosen by
 * argv[1]: int3 (SIGTRAP), ud2 (SIGILL), hlt, sysret, rdmsr, wrmsr and
 * rdpmc (privileged, or rdpmc without a perf event mapped: SIGSEGV), the
 * system-table reads sgdt/sidt/smsw/sldt/str ("umip": emulated), an instruction over 15 bytes long (SIGSEGV), a divide error (SIGFPE), hint-space NOPs (prefetchw,
 * reserved-NOP prefetches, cldemote: NOPs on any CPU, then "none"), a null store (SIGSEGV), abort (SIGABRT). Output
 * written before the fault must reach the file system, so stdout is
 * unbuffered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile int zero = 0;

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const char *what = argc > 1 ? argv[1] : "int3";
  printf("before %s\n", what);
  if (!strcmp(what, "int3"))
    __asm__ volatile("int3");
  else if (!strcmp(what, "ud2"))
    __asm__ volatile("ud2");
  else if (!strcmp(what, "hlt"))
    __asm__ volatile("hlt");
  else if (!strcmp(what, "sysret"))
    __asm__ volatile("sysretq");
  else if (!strcmp(what, "rdmsr"))
    __asm__ volatile("rdmsr" : : "c"(0x10) : "rax", "rdx");
  else if (!strcmp(what, "wrmsr"))
    __asm__ volatile("wrmsr" : : "c"(0x10), "a"(0), "d"(0));
  else if (!strcmp(what, "rdpmc"))
    __asm__ volatile("rdpmc" : : "c"(0) : "rax", "rdx");
  else if (!strcmp(what, "umip")) {
    /* With UMIP the kernel emulates these for user mode (fixed values; str
     * and sldt since 5.10); without it they run. Either way as natively. */
    unsigned char gdt[10] = {0}, idt[10] = {0};
    unsigned long msw = 0;
    unsigned short ldt = 0, tr = 0; /* 16-bit forms: the upper bits are not written */
    __asm__ volatile("sgdt %0\n\tsidt %1" : "=m"(gdt), "=m"(idt));
    __asm__ volatile("smsw %0" : "=r"(msw));
    __asm__ volatile("sldt %0\n\tstr %1" : "=r"(ldt), "=r"(tr));
    printf("gdt limit %u idt limit %u msw %lx ldt %x tr %x\n", gdt[0] | gdt[1] << 8,
           idt[0] | idt[1] << 8, msw, ldt, tr);
  }
  else if (!strcmp(what, "hints")) {
    static char line[64];
    __asm__ volatile(".byte 0x0f,0x0d,0x08\n\t" /* prefetchw [rax] */
                     ".byte 0x0f,0x18,0x20\n\t" /* 0f 18 /4: reserved NOP */
                     ".byte 0x0f,0x18,0x38\n\t" /* 0f 18 /7 */
                     ".byte 0x0f,0x1c,0x00\n\t" /* cldemote [rax] */
                     ".byte 0x0f,0x1e,0xfa"       /* endbr64 */
                     :
                     : "a"(line)
                     : "memory");
  } else if (!strcmp(what, "div"))
    printf("%d\n", 10 / zero);
  else if (!strcmp(what, "divlong")) {
    long q, r;
    __asm__ volatile("mov $-1, %%rdx\n\tmov $1, %%rax\n\tmov $2, %%rcx\n\tidivq %%rcx" : "=a"(q), "=d"(r) : : "rcx");
    printf("%ld %ld\n", q, r);
  } else if (!strcmp(what, "null"))
    *(volatile int *)(long)zero = 1;
  else if (!strcmp(what, "abort"))
    abort();
  else if (!strcmp(what, "long")) /* 15 prefixes and a nop: over 15 bytes, #GP */
    __asm__ volatile(".byte 0xf2,0xf2,0xf2,0xf2,0xf2,0xf2,0xf2,0xf2,0xf2,0xf2,0x66,0x66,0x2e,0x48,0xf3,0x90");
  printf("after %s\n", what);
  return 0;
}
