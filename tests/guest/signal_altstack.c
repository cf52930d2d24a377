/* signal_altstack.c - sigaltstack rules and frames on the alternate stack:
 * errnos (EINVAL, ENOMEM, EPERM while on it), what ss_flags report inside
 * and outside a handler, the frame placed on the stack with SA_ONSTACK and
 * nested signals staying on it, SS_AUTODISARM, rt_sigreturn restoring the
 * stack saved in uc_stack (also when the handler edits it), a stack
 * overflow caught on the alternate stack, and an alternate stack too small
 * for nested frames (SIGSEGV). Addresses are printed relative to the
 * alternate stack. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#define SIZE (64 * 1024)
#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif
static char *alt;

static void on(int sig, void (*h)(int, siginfo_t *, void *), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = h;
  sa.sa_flags = SA_SIGINFO | flags;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
}

static int set(void *sp, int flags, size_t size) {
  stack_t ss = {.ss_sp = sp, .ss_flags = flags, .ss_size = size};
  return sigaltstack(&ss, NULL) == 0 ? 0 : errno;
}

static void show(const char *what) {
  stack_t o;
  sigaltstack(NULL, &o);
  printf("%s: sp=%s flags=%x size=%zu\n", what, o.ss_sp == alt ? "alt" : o.ss_sp ? "other" : "0",
         o.ss_flags, o.ss_size);
}

static int on_alt(void *p) { return (char *)p > alt && (char *)p <= alt + SIZE; }

static volatile uintptr_t outer_local;
static void nested(int sig, siginfo_t *info, void *ctx) {
  int local;
  printf("nested: on alt %d, below outer %d\n", on_alt(&local), (uintptr_t)&local < outer_local);
}

static void handler(int sig, siginfo_t *info, void *ctx) {
  ucontext_t *uc = ctx;
  int local;
  outer_local = (uintptr_t)&local;
  printf("handler: local on alt %d, info on alt %d, uc_stack sp=%s flags=%x size=%zu\n",
         on_alt(&local), on_alt(info), uc->uc_stack.ss_sp == alt ? "alt" : "other",
         uc->uc_stack.ss_flags, uc->uc_stack.ss_size);
  show("inside");
  printf("change while on it: %s\n", strerror(set(alt, 0, SIZE)));
  printf("disable while on it: %s\n", strerror(set(NULL, SS_DISABLE, 0)));
  raise(SIGFPE);
}

static void edit(int sig, siginfo_t *info, void *ctx) {
  ucontext_t *uc = ctx;
  show("autodisarm inside");
  uc->uc_stack.ss_size = SIZE / 2;
}

static void deep(int n) {
  volatile char buf[1024];
  buf[0] = n;
  deep(n + 1);
  buf[1] = 0;
}
static void caught(int sig, siginfo_t *info, void *ctx) {
  int local;
  printf("overflow caught: sig %d on alt %d\n", sig, on_alt(&local));
  _exit(0);
}
static void overflow(void) {
  on(SIGSEGV, caught, SA_ONSTACK);
  deep(0);
}

static void recurse(int sig, siginfo_t *info, void *ctx) { raise(SIGTRAP); }
static void small_alt(void) {
  static char small[16384];
  stack_t ss = {.ss_sp = small, .ss_flags = 0, .ss_size = sizeof small};
  sigaltstack(&ss, NULL);
  on(SIGTRAP, recurse, SA_ONSTACK | SA_NODEFER);
  raise(SIGTRAP);
}

static void child(const char *name, void (*f)(void)) {
  fflush(stdout);
  pid_t p = fork();
  if (p == 0) {
    f();
    _exit(9);
  }
  int st;
  waitpid(p, &st, 0);
  if (WIFSIGNALED(st))
    printf("%s: killed by signal %d\n", name, WTERMSIG(st));
  else
    printf("%s: exit %d\n", name, WEXITSTATUS(st));
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  alt = malloc(SIZE);
  show("initial");
  printf("bad flags: %s\n", strerror(set(alt, 4, SIZE)));
  printf("too small: %s\n", strerror(set(alt, 0, 2047)));
  printf("minimum: %s\n", strerror(set(alt, 0, 2048)));
  show("after minimum");
  printf("disable: %s\n", strerror(set(alt, SS_DISABLE, 0)));
  show("disabled");
  printf("onstack mode: %s\n", strerror(set(alt, SS_ONSTACK, SIZE)));
  show("set");

  on(SIGTRAP, handler, SA_ONSTACK);
  on(SIGFPE, nested, SA_ONSTACK);
  raise(SIGTRAP);
  show("after");

  /* Without SA_ONSTACK the frame stays on the normal stack. */
  on(SIGFPE, nested, 0);
  outer_local = 0;
  raise(SIGFPE);

  set(alt, SS_AUTODISARM, SIZE);
  show("autodisarm");
  on(SIGILL, edit, SA_ONSTACK);
  raise(SIGILL);
  show("after autodisarm (edited uc_stack)");

  set(alt, 0, SIZE);
  child("stack overflow", overflow);
  child("alternate stack overflow", small_alt);
  return 0;
}
