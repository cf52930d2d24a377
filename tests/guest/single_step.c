/* single_step.c - the trap flag: a program that sets TF gets a SIGTRAP
 * (TRAP_TRACE) after every instruction, as a debugger's single step does.
 * Traced here: which instructions trap (offsets from the routine's start),
 * that the trap after `popf` setting TF comes only after the next
 * instruction, that `popf` clearing TF still traps once, what `pushf` sees,
 * a `syscall` under TF, a loop, calls, returns and indirect jumps to
 * code already run without TF, the handler's view (si_code, si_addr, the
 * TF bit of the saved flags, a handler running without TF), and TF set by a
 * handler's edit of its ucontext taking effect at sigreturn. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#define TF 0x100

/* Sets TF, runs a few kinds of instructions, clears TF, returns the flags
 * `pushf` saw with TF set (bits other than TF masked out). */
uint64_t step_run(void);
extern char step_end[];
__asm__(".text\n"
        ".globl step_run\n"
        "step_run:\n"
        "  pushfq\n"
        "  orq $0x100, (%rsp)\n"
        "  popfq\n"
        "  nop\n"
        "  mov $3, %ecx\n"
        "1: dec %ecx\n"
        "  jnz 1b\n"
        "  pushfq\n"
        "  pop %rdx\n"
        "  and $0x100, %edx\n"
        "  mov $39, %eax\n" /* getpid */
        "  syscall\n"
        "  lea 8(%rsp), %rax\n"
        "  mov (%rsp), %rax\n"
        "  pushfq\n"
        "  andq $~0x100, (%rsp)\n"
        "  popfq\n"
        "  nop\n"
        "  mov %rdx, %rax\n"
        ".globl step_end\n"
        "step_end:\n"
        "  ret\n");

/* A `ud2` (its SIGILL handler skips it) and an `int3` under TF. */
uint64_t step_faults(void);
__asm__(".text\n"
        ".globl step_faults\n"
        "step_faults:\n"
        "  pushfq\n"
        "  orq $0x100, (%rsp)\n"
        "  popfq\n"
        "  nop\n"
        "  ud2\n"
        "  nop\n"
        "  int3\n"
        "  nop\n"
        "  pushfq\n"
        "  andq $~0x100, (%rsp)\n"
        "  popfq\n"
        "  xor %eax, %eax\n"
        "  ret\n");

/* Calls, returns and indirect jumps, run first without TF (so their
 * targets are translated and known to the lookups: a stepped `ret` went
 * straight on into them, unstepped; the kernel selftest syscall_nt), then
 * with TF, given in rdi. */
uint64_t step_calls(uint64_t tf);
__asm__(".text\n"
        ".globl step_calls\n"
        "step_calls:\n"
        "  pushfq\n"
        "  or %rdi, (%rsp)\n"
        "  popfq\n"
        "  call step_leaf\n"
        "  lea step_after(%rip), %rax\n"
        "  jmp *%rax\n"
        "step_after:\n"
        "  lea step_leaf(%rip), %rax\n"
        "  call *%rax\n"
        "  pushfq\n"
        "  pop %rax\n"
        "  and $0x100, %eax\n"
        "  pushfq\n"
        "  andq $~0x100, (%rsp)\n"
        "  popfq\n"
        "  ret\n"
        "step_leaf:\n"
        "  nop\n"
        "  ret\n");

static volatile int traps, limit = 200, ills;
static volatile int handler_tf = -1, usr1_tf = -1;
static long where[256];
static int codes[256], saved_tf[256], addr_ok[256], trapno[256], err[256];
static uint64_t base = (uint64_t)step_run;

static void on_trap(int sig, siginfo_t *si, void *ctx) {
  ucontext_t *uc = ctx;
  uint64_t rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
  uint64_t fl;
  __asm__ volatile("pushfq; pop %0" : "=r"(fl));
  handler_tf = (fl & TF) != 0;
  int n = traps++;
  if (n < 256) {
    where[n] = (long)(rip - base);
    trapno[n] = (int)uc->uc_mcontext.gregs[REG_TRAPNO];
    err[n] = (int)uc->uc_mcontext.gregs[REG_ERR];
    codes[n] = si->si_code;
    saved_tf[n] = (uc->uc_mcontext.gregs[REG_EFL] & TF) != 0;
    addr_ok[n] = (uint64_t)si->si_addr == rip;
  }
  if (traps >= limit)
    uc->uc_mcontext.gregs[REG_EFL] &= ~TF;
  (void)sig;
}

/* SIGILL's handler skips the 2-byte `ud2`, keeping the saved TF. */
static void on_ill(int sig, siginfo_t *si, void *ctx) {
  ucontext_t *uc = ctx;
  ills++;
  printf("SIGILL at +%ld, saved TF %d\n", (long)(uc->uc_mcontext.gregs[REG_RIP] - base),
         (uc->uc_mcontext.gregs[REG_EFL] & TF) != 0);
  uc->uc_mcontext.gregs[REG_RIP] += 2;
  (void)sig, (void)si;
}

/* SIGUSR1's handler turns TF on in the interrupted context. */
static void on_usr1(int sig, siginfo_t *si, void *ctx) {
  ucontext_t *uc = ctx;
  uint64_t fl;
  __asm__ volatile("pushfq; pop %0" : "=r"(fl));
  usr1_tf = (fl & TF) != 0;
  uc->uc_mcontext.gregs[REG_EFL] |= TF;
  (void)sig, (void)si;
}

static void report(const char *what, int from, int to, int offsets) {
  printf("%s: %d traps\n", what, to - from);
  for (int i = from; i < to && i < 256; i++) {
    if (offsets)
      printf("  +%ld", where[i]);
    printf("  code %d tf %d addr %d trapno %d err %d\n", codes[i], saved_tf[i], addr_ok[i], trapno[i], err[i]);
  }
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_trap;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGTRAP, &sa, NULL);
  sa.sa_sigaction = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  sa.sa_sigaction = on_ill;
  sigaction(SIGILL, &sa, NULL);

  uint64_t seen = step_run();
  report("step_run", 0, traps, 1);
  printf("pushf saw TF %d; handler ran with TF %d; end at +%ld\n", seen != 0, handler_tf,
         (long)(step_end - (char *)step_run));

  int first = traps;
  base = (uint64_t)step_faults;
  step_faults();
  report("step_faults", first, traps, 1);
  printf("%d SIGILL\n", ills);

  for (int i = 0; i < 3; i++)
    step_calls(0);
  first = traps;
  base = (uint64_t)step_calls;
  seen = step_calls(TF);
  report("step_calls", first, traps, 1);
  printf("pushf after the calls saw TF %d\n", seen != 0);

  /* TF from a handler's ucontext: the steps after sigreturn trap until
   * the SIGTRAP handler clears TF on the 10th. */
  int before = traps;
  limit = before + 10;
  __asm__ volatile("syscall" : : "a"(62), "D"((long)getpid()), "S"((long)SIGUSR1) : "rcx", "r11", "memory");
  __asm__ volatile("nop\n\tnop\n\tnop\n\tnop\n\tnop\n\tnop\n\tnop\n\tnop\n\tnop\n\tnop\n\tnop\n\tnop" ::: "memory");
  report("after sigreturn", before, traps, 0);
  printf("usr1 handler ran with TF %d\n", usr1_tf);
  return 0;
}
