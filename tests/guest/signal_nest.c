/* signal_nest.c - delivery rules around guest handlers, with the signals
 * tern can deliver itself (faults, and the fault signals sent with raise):
 * nesting with SA_NODEFER (over 1000 nested frames), deferral while the
 * signal or sa_mask blocks it, uc_sigmask edits, SA_RESETHAND, siglongjmp
 * out of a handler, forced synchronous signals (blocked or ignored), a
 * handler without SA_RESTORER, a corrupt frame at rt_sigreturn, and a
 * frame that cannot be written. Each fatal case runs in a child and
 * prints how it ended. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

static void on(int sig, void (*h)(int, siginfo_t *, void *), int flags, int masked) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = h;
  sa.sa_flags = SA_SIGINFO | flags;
  sigemptyset(&sa.sa_mask);
  if (masked)
    sigaddset(&sa.sa_mask, masked);
  sigaction(sig, &sa, NULL);
}

static void child(const char *name, void (*f)(void)) {
  pid_t p = fork();
  if (p == 0) {
    int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP};
    for (int i = 0; i < 5; i++)
      signal(sigs[i], SIG_DFL);
    f();
    printf("%s: survived\n", name);
    _exit(0);
  }
  int st;
  waitpid(p, &st, 0);
  if (WIFSIGNALED(st))
    printf("%s: killed by signal %d\n", name, WTERMSIG(st));
  else
    printf("%s: exit %d\n", name, WEXITSTATUS(st));
}

static unsigned long blocked(void) {
  sigset_t s;
  sigprocmask(SIG_BLOCK, NULL, &s);
  return ((unsigned long *)&s)[0];
}

static volatile int depth, maxdepth;
static void nodefer(int sig, siginfo_t *info, void *uc) {
  depth++;
  if (depth > maxdepth)
    maxdepth = depth;
  if (depth < 1200)
    raise(sig);
  depth--;
}

static volatile int entries;
static void deferred(int sig, siginfo_t *info, void *uc) {
  printf("deferred: enter %d code %d mask %lx\n", ++entries, info->si_code, blocked());
  if (entries == 1) {
    raise(sig);
    printf("deferred: raised again, still in the first\n");
  }
}

static void on_fpe(int sig, siginfo_t *info, void *uc) {
  printf("sa_mask: fpe begins, mask %lx\n", blocked());
  raise(SIGBUS);
  printf("sa_mask: fpe ends\n");
}
static void on_bus(int sig, siginfo_t *info, void *uc) { printf("sa_mask: bus runs, mask %lx\n", blocked()); }

static void edit_mask(int sig, siginfo_t *info, void *ctx) {
  ucontext_t *uc = ctx;
  sigaddset(&uc->uc_sigmask, SIGTRAP);
  sigdelset(&uc->uc_sigmask, SIGUSR1);
}
static volatile int traps;
static void count_trap(int sig, siginfo_t *info, void *ctx) { traps++; }

static sigjmp_buf env;
static void jump(int sig, siginfo_t *info, void *ctx) { siglongjmp(env, sig + 100 * info->si_code); }

static void plain(int sig, siginfo_t *info, void *ctx) { printf("plain handler %d code %d\n", sig, info->si_code); }

static void resethand(void) {
  on(SIGBUS, plain, SA_RESETHAND, 0);
  raise(SIGBUS);
  struct sigaction old;
  sigaction(SIGBUS, NULL, &old);
  printf("resethand: handler now default: %d\n", old.sa_handler == SIG_DFL);
  raise(SIGBUS);
}

static void blocked_fault(void) {
  on(SIGSEGV, plain, 0, 0);
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGSEGV);
  sigprocmask(SIG_BLOCK, &s, NULL);
  *(volatile int *)16 = 1;
}

static void ignored_fault(void) {
  signal(SIGILL, SIG_IGN);
  __asm__ volatile("ud2");
}

static void no_restorer(void) {
  struct {
    void *handler;
    unsigned long flags;
    void *restorer;
    unsigned long mask;
  } ka = {(void *)plain, SA_SIGINFO, NULL, 0};
  syscall(SYS_rt_sigaction, SIGTRAP, &ka, NULL, 8);
  raise(SIGTRAP);
}

static void corrupt_fp(int sig, siginfo_t *info, void *ctx) {
  ucontext_t *uc = ctx;
  uc->uc_mcontext.fpregs->mxcsr = 0xffffffff;
}
static void on_segv_exit(int sig, siginfo_t *info, void *ctx) {
  printf("bad frame: SIGSEGV code %d addr %p\n", info->si_code, info->si_addr);
  fflush(stdout);
  _exit(3);
}
static void corrupt_frame(void) {
  on(SIGTRAP, corrupt_fp, 0, 0);
  raise(SIGTRAP);
}
static void corrupt_frame_handled(void) {
  on(SIGSEGV, on_segv_exit, 0, 0);
  corrupt_frame();
}

static void sigreturn_garbage(void) {
  __asm__ volatile("mov $0x100008, %%rsp\n mov $15, %%eax\n syscall" ::: "memory");
}

static void unwritable_frame(void) {
  on(SIGILL, plain, 0, 0);
  on(SIGSEGV, plain, 0, 0);
  __asm__ volatile("mov $0x100000, %%rsp\n ud2" ::: "memory");
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  on(SIGTRAP, nodefer, SA_NODEFER, 0);
  raise(SIGTRAP);
  printf("nodefer: max depth %d, mask after %lx\n", maxdepth, blocked());

  on(SIGILL, deferred, 0, 0);
  raise(SIGILL);
  printf("deferred: entries %d\n", entries);

  on(SIGFPE, on_fpe, 0, SIGBUS);
  on(SIGBUS, on_bus, 0, 0);
  raise(SIGFPE);

  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  sigprocmask(SIG_SETMASK, &s, NULL);
  on(SIGSEGV, edit_mask, 0, 0);
  on(SIGTRAP, count_trap, 0, 0);
  raise(SIGSEGV);
  printf("uc_sigmask edit: mask after %lx\n", blocked());
  raise(SIGTRAP);
  sigset_t pend;
  sigpending(&pend);
  printf("uc_sigmask edit: SIGTRAP pending %d, handled %d\n", sigismember(&pend, SIGTRAP), traps);
  sigemptyset(&s);
  sigprocmask(SIG_SETMASK, &s, NULL);
  printf("uc_sigmask edit: after unblocking handled %d\n", traps);

  on(SIGSEGV, jump, 0, 0);
  on(SIGFPE, jump, 0, 0);
  for (int i = 0; i < 3; i++) {
    int r = sigsetjmp(env, 1);
    if (r == 0) {
      if (i == 1)
        __asm__ volatile("xor %%ecx, %%ecx\n div %%ecx" ::: "rax", "rdx", "rcx");
      *(volatile int *)(uintptr_t)(8 * i) = 1;
    }
    printf("siglongjmp %d: %d, mask %lx\n", i, r, blocked());
  }

  child("resethand", resethand);
  child("blocked fault", blocked_fault);
  child("ignored fault", ignored_fault);
  child("no SA_RESTORER", no_restorer);
  child("corrupt fpstate", corrupt_frame);
  child("corrupt fpstate with SIGSEGV handler", corrupt_frame_handled);
  child("rt_sigreturn on garbage", sigreturn_garbage);
  child("unwritable frame", unwritable_frame);
  return 0;
}
