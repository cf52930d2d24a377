/* sigmask.c - signal masks, chosen by argv[1]. Under tern the guest's mask
 * is tern's own and never blocks the host signals tern needs (SIGSEGV for
 * self-modifying code, its other fault signals): every case must behave as
 * natively.
 *   smc          all signals blocked, then self-modifying code, a read()
 *                into a code page, the old mask and a siginfo written there
 *   procmask     rt_sigprocmask round trips, SIGKILL/SIGSTOP, bad how, size
 *                and pointers, sa_mask read back
 *   waits        ppoll, pselect6, epoll_pwait(2), sigtimedwait, signalfd
 *                with every signal in the set
 *   pending      sigpending with blocked SIGUSR1 and SIGSEGV sent by kill;
 *                sigtimedwait for SIGSEGV; SIG_IGN discards; fork clears;
 *                then SIGSEGV unblocked: dies
 *   ppoll_kill   a pending SIGUSR1 unblocked by ppoll's mask: dies
 *   segv_blocked, segv_ignored, fpe_blocked, trap_blocked: a fault on a
 *                blocked or ignored signal is forced: dies by it
 *   suspend      a child in sigsuspend with every signal but SIGTERM
 *                blocked survives SIGUSR1 and SIGSEGV, dies by SIGTERM
 *   exec         mask and pending signals survive execve (re-runs itself
 *                with exec_child)
 * Output is unbuffered so that it is complete when the process dies. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef uint64_t set64;

#define BIT(s) ((set64)1 << ((s) - 1))

/* The raw call: glibc's wrapper hides bad sizes and its own signals. */
static long procmask(long how, const set64 *set, set64 *old, long size) {
  long r = syscall(SYS_rt_sigprocmask, how, set, old, size);
  return r < 0 ? -errno : r;
}

static set64 get_mask(void) {
  set64 m = 0;
  procmask(SIG_BLOCK, NULL, &m, 8);
  return m;
}

static void set_mask(set64 m) { procmask(SIG_SETMASK, &m, NULL, 8); }

static void show_mask(const char *what) { printf("%s: mask %016llx\n", what, (unsigned long long)get_mask()); }

static set64 get_pending(void) {
  set64 p = 0;
  syscall(SYS_rt_sigpending, &p, 8);
  return p;
}

static void *bad = (void *)16; /* never mapped */

typedef int (*fn_t)(void);

/* mov eax, imm32 ; ret */
static void make(unsigned char *p, int v) {
  p[0] = 0xb8;
  memcpy(p + 1, &v, 4);
  p[5] = 0xc3;
}

static int smc(void) {
  set_mask(~(set64)0);
  show_mask("all blocked");
  unsigned char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  make(page, 1);
  printf("first %d\n", ((fn_t)page)());
  make(page, 2); /* a store into code that has run */
  printf("second %d\n", ((fn_t)page)());
  int p[2];
  unsigned char code[6];
  pipe(p);
  make(code, 3);
  write(p[1], code, sizeof code);
  printf("read %zd\n", read(p[0], page, 6)); /* the kernel writes code */
  printf("third %d\n", ((fn_t)page)());
  /* The old mask written into a code page that has run. */
  set64 none = 0;
  make(page, 4);
  printf("fourth %d\n", ((fn_t)page)());
  printf("procmask into code %ld\n", procmask(SIG_SETMASK, &none, (set64 *)(page + 64), 8));
  printf("old mask there %016llx\n", (unsigned long long)*(set64 *)(page + 64));
  /* A signal taken by sigtimedwait, its siginfo written into code. */
  set_mask(~(set64)0);
  make(page, 5);
  printf("fifth %d\n", ((fn_t)page)());
  raise(SIGUSR1);
  set64 usr1 = BIT(SIGUSR1);
  printf("sigtimedwait into code %ld\n", syscall(SYS_rt_sigtimedwait, &usr1, page + 64, NULL, 8));
  printf("signo there %d\n", ((siginfo_t *)(page + 64))->si_signo);
  set_mask(0);
  show_mask("after");
  return 0;
}

static int procmask_cases(void) {
  set64 m, old;
  show_mask("start");
  m = BIT(SIGUSR1) | BIT(SIGKILL) | BIT(SIGSTOP) | BIT(SIGSEGV) | BIT(64);
  printf("block %ld\n", procmask(SIG_BLOCK, &m, &old, 8));
  printf("old %016llx\n", (unsigned long long)old);
  show_mask("blocked");
  m = BIT(SIGUSR2) | BIT(SIGBUS) | BIT(SIGTRAP);
  printf("block more %ld\n", procmask(SIG_BLOCK, &m, NULL, 8));
  show_mask("more");
  m = BIT(SIGUSR1) | BIT(SIGBUS);
  printf("unblock %ld\n", procmask(SIG_UNBLOCK, &m, &old, 8));
  printf("old %016llx\n", (unsigned long long)old);
  show_mask("unblocked");
  m = ~(set64)0;
  printf("setmask all %ld\n", procmask(SIG_SETMASK, &m, NULL, 8));
  show_mask("all");
  old = 0;
  printf("get only %ld\n", procmask(SIG_BLOCK, NULL, &old, 8));
  printf("old %016llx\n", (unsigned long long)old);
  printf("bad how with set %ld\n", procmask(7, &m, NULL, 8));
  printf("bad how without set %ld\n", procmask(7, NULL, &old, 8));
  printf("size 4 %ld\n", procmask(SIG_BLOCK, NULL, &old, 4));
  printf("size 16 %ld\n", procmask(SIG_BLOCK, NULL, &old, 16));
  printf("size 0 %ld\n", procmask(SIG_BLOCK, NULL, NULL, 0));
  printf("bad set %ld\n", procmask(SIG_SETMASK, bad, NULL, 8));
  show_mask("after bad set");
  m = BIT(SIGCHLD);
  printf("bad oset %ld\n", procmask(SIG_SETMASK, &m, bad, 8));
  show_mask("after bad oset");
  printf("nothing %ld\n", procmask(SIG_BLOCK, NULL, NULL, 8));
  printf("glibc sigprocmask %d\n", sigprocmask(SIG_SETMASK, NULL, NULL));
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGFPE);
  sigaddset(&s, SIGILL);
  sigprocmask(SIG_SETMASK, &s, NULL);
  sigprocmask(SIG_BLOCK, NULL, &s);
  printf("glibc fpe %d ill %d chld %d\n", sigismember(&s, SIGFPE), sigismember(&s, SIGILL), sigismember(&s, SIGCHLD));
  /* sa_mask reads back without SIGKILL and SIGSTOP. */
  struct {
    void *handler;
    unsigned long flags;
    void *restorer;
    set64 mask;
  } act = {SIG_IGN, 0, NULL, ~(set64)0}, oact;
  syscall(SYS_rt_sigaction, SIGUSR2, &act, NULL, 8);
  syscall(SYS_rt_sigaction, SIGUSR2, NULL, &oact, 8);
  printf("sa_mask %016llx\n", (unsigned long long)oact.mask);
  return 0;
}

static int waits(void) {
  set64 all = ~(set64)0;
  set_mask(BIT(SIGUSR1));
  struct timespec ts = {0, 10 * 1000 * 1000};
  int p[2];
  pipe(p);
  struct pollfd pfd = {p[0], POLLIN, 0};
  long r = syscall(SYS_ppoll, &pfd, 1, &ts, &all, 8);
  printf("ppoll %ld\n", r);
  show_mask("after ppoll");
  r = syscall(SYS_ppoll, &pfd, 1, &ts, &all, 16);
  printf("ppoll size 16 %ld errno %d\n", r, errno);
  r = syscall(SYS_ppoll, &pfd, 1, &ts, bad, 8);
  printf("ppoll bad set %ld errno %d\n", r, errno);
  write(p[1], "x", 1);
  r = syscall(SYS_ppoll, &pfd, 1, NULL, &all, 8);
  printf("ppoll ready %ld revents %d\n", r, pfd.revents);
  char c;
  read(p[0], &c, 1);

  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(p[0], &rd);
  struct {
    const set64 *set;
    size_t size;
  } arg = {&all, 8};
  r = syscall(SYS_pselect6, p[0] + 1, &rd, NULL, NULL, &ts, &arg);
  printf("pselect6 %ld\n", r);
  arg.size = 4;
  FD_SET(p[0], &rd);
  r = syscall(SYS_pselect6, p[0] + 1, &rd, NULL, NULL, &ts, &arg);
  printf("pselect6 size 4 %ld errno %d\n", r, errno);
  r = syscall(SYS_pselect6, p[0] + 1, &rd, NULL, NULL, &ts, bad);
  printf("pselect6 bad pair %ld errno %d\n", r, errno);
  sigset_t gs;
  sigfillset(&gs);
  FD_SET(p[0], &rd);
  printf("glibc pselect %d\n", pselect(p[0] + 1, &rd, NULL, NULL, &ts, &gs));
  show_mask("after pselect");

  int ep = epoll_create1(0);
  struct epoll_event ev = {EPOLLIN, {0}}, out;
  epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
  r = syscall(SYS_epoll_pwait, ep, &out, 1, 10, &all, 8);
  printf("epoll_pwait %ld\n", r);
  r = syscall(SYS_epoll_pwait, ep, &out, 1, 10, &all, 7);
  printf("epoll_pwait size 7 %ld errno %d\n", r, errno);
  r = syscall(SYS_epoll_pwait2, ep, &out, 1, &ts, &all, 8);
  printf("epoll_pwait2 %ld\n", r < 0 && errno == ENOSYS ? 0 : r);
  show_mask("after epoll");

  /* A blocked pending signal is seen by sigtimedwait and signalfd. */
  set_mask(all);
  raise(SIGUSR1);
  raise(SIGUSR2);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  r = syscall(SYS_rt_sigtimedwait, &all, &si, &ts, 8);
  printf("sigtimedwait %ld signo %d code %d pid ok %d\n", r, si.si_signo, si.si_code, si.si_pid == getpid());
  set64 segv = BIT(SIGSEGV);
  r = syscall(SYS_rt_sigtimedwait, &segv, &si, &ts, 8);
  printf("sigtimedwait segv %ld errno %d\n", r, errno);
  r = syscall(SYS_rt_sigtimedwait, &segv, &si, &ts, 4);
  printf("sigtimedwait size 4 %ld errno %d\n", r, errno);
  int sfd = syscall(SYS_signalfd4, -1, &all, 8, SFD_NONBLOCK);
  struct signalfd_siginfo ssi;
  memset(&ssi, 0, sizeof ssi);
  ssize_t n = read(sfd, &ssi, sizeof ssi);
  printf("signalfd read %zd signo %u\n", n, ssi.ssi_signo);
  n = read(sfd, &ssi, sizeof ssi);
  printf("signalfd empty %zd errno %d\n", n, errno);
  r = syscall(SYS_signalfd4, -1, &all, 16, 0);
  printf("signalfd4 size 16 %ld errno %d\n", r, errno);
  r = syscall(SYS_signalfd, -1, bad, 8);
  printf("signalfd bad %ld errno %d\n", r, errno);
  printf("pending %016llx\n", (unsigned long long)get_pending());
  show_mask("end");
  return 0;
}

static int pending(void) {
  set64 m = BIT(SIGUSR1) | BIT(SIGSEGV) | BIT(SIGFPE);
  set_mask(m);
  raise(SIGUSR1);
  printf("pending after raise %016llx\n", (unsigned long long)get_pending());
  kill(getpid(), SIGSEGV);
  printf("pending after kill SEGV %016llx\n", (unsigned long long)get_pending());
  set64 p = 0;
  printf("sigpending size 4 %ld\n", syscall(SYS_rt_sigpending, &p, 4));
  printf("low half %016llx\n", (unsigned long long)p);
  long r9 = syscall(SYS_rt_sigpending, &p, 9);
  printf("sigpending size 9 %ld errno %d\n", r9, errno);
  sigset_t s;
  sigpending(&s);
  printf("glibc usr1 %d segv %d\n", sigismember(&s, SIGUSR1), sigismember(&s, SIGSEGV));
  /* Waiting for SIGSEGV sent by kill gets it. */
  set64 segv = BIT(SIGSEGV);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  long r = syscall(SYS_rt_sigtimedwait, &segv, &si, NULL, 8);
  printf("sigtimedwait %ld signo %d code %d pid ok %d\n", r, si.si_signo, si.si_code, si.si_pid == getpid());
  printf("pending now %016llx\n", (unsigned long long)get_pending());
  /* Ignoring a pending signal discards it. */
  kill(getpid(), SIGFPE);
  printf("pending FPE %016llx\n", (unsigned long long)get_pending());
  signal(SIGFPE, SIG_IGN);
  printf("after SIG_IGN %016llx\n", (unsigned long long)get_pending());
  /* Unblocking a pending SIGSEGV ends the process by it; a forked child
   * starts with nothing pending. */
  kill(getpid(), SIGSEGV);
  printf("pending again %016llx\n", (unsigned long long)get_pending());
  pid_t c = fork();
  if (c == 0) {
    printf("child pending %016llx\n", (unsigned long long)get_pending());
    show_mask("child");
    _exit(0);
  }
  waitpid(c, NULL, 0);
  set_mask(BIT(SIGUSR1));
  printf("not reached\n");
  return 0;
}

static int ppoll_kill(void) {
  set_mask(BIT(SIGUSR1));
  raise(SIGUSR1);
  printf("pending %016llx\n", (unsigned long long)get_pending());
  set64 none = 0;
  struct timespec ts = {0, 10 * 1000 * 1000};
  syscall(SYS_ppoll, NULL, 0, &ts, &none, 8);
  printf("not reached\n");
  return 0;
}

static volatile int zero = 0;

static int fault(const char *what) {
  if (!strcmp(what, "segv_ignored"))
    signal(SIGSEGV, SIG_IGN);
  else
    set_mask(~(set64)0);
  show_mask(what);
  if (!strcmp(what, "fpe_blocked"))
    printf("%d\n", 10 / zero);
  else if (!strcmp(what, "trap_blocked"))
    __asm__ volatile("int3");
  else
    *(volatile int *)(long)zero = 1;
  printf("not reached\n");
  return 0;
}

static int suspend(void) {
  /* The child says when its mask is in place, so that the signals below
   * never race with it, however loaded the machine. */
  int ready[2];
  if (pipe(ready) != 0)
    return 1;
  pid_t c = fork();
  if (c == 0) {
    set_mask(~(set64)0);
    char one = 1;
    if (write(ready[1], &one, 1) != 1)
      _exit(2);
    set64 m = ~BIT(SIGTERM);
    syscall(SYS_rt_sigsuspend, &m, 8);
    printf("child: sigsuspend returned\n");
    _exit(1);
  }
  char got;
  if (read(ready[0], &got, 1) != 1)
    return 1;
  kill(c, SIGUSR1);
  kill(c, SIGSEGV);
  struct timespec ts = {0, 50 * 1000 * 1000};
  nanosleep(&ts, NULL);
  kill(c, SIGTERM);
  int st;
  waitpid(c, &st, 0);
  printf("child signaled %d by %d\n", WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : -1);
  set64 bad_size = 0;
  long r = syscall(SYS_rt_sigsuspend, &bad_size, 4);
  printf("sigsuspend size 4 %ld errno %d\n", r, errno);
  r = syscall(SYS_rt_sigsuspend, bad, 8);
  printf("sigsuspend bad %ld errno %d\n", r, errno);
  return 0;
}

/* SigBlk and SigCgt of /proc/self/status: the guest's, fault signals
 * included (the host's mask leaves out those tern keeps unblocked, and its
 * handlers catch them). */
static void show_status_mask(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "SigBlk:", 7) || !strncmp(line, "SigCgt:", 7))
      fputs(line, stdout);
  if (f)
    fclose(f);
}

static int exec_parent(const char *self) {
  set_mask(BIT(SIGUSR1) | BIT(SIGUSR2) | BIT(SIGSEGV) | BIT(SIGBUS) | BIT(SIGRTMIN + 3) | BIT(64));
  raise(SIGUSR2);
  kill(getpid(), SIGBUS);
  show_mask("parent");
  printf("parent pending %016llx\n", (unsigned long long)get_pending());
  execl(self, self, "exec_child", (char *)NULL);
  printf("execl failed\n");
  return 1;
}

static int exec_child(void) {
  show_mask("child");
  printf("child pending %016llx\n", (unsigned long long)get_pending());
  show_status_mask();
  set64 bus = BIT(SIGBUS);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  struct timespec ts = {0, 0};
  long r = syscall(SYS_rt_sigtimedwait, &bus, &si, &ts, 8);
  printf("child sigtimedwait %ld signo %d code %d\n", r, si.si_signo, si.si_code);
  return 0;
}

/* A reserved signal queued to the process itself with a forged "kernel"
 * si_code (allowed towards oneself): kept pending while blocked, with its
 * siginfo; then, unblocked, it ends the process. */
static int queue_self(void) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  si.si_signo = SIGILL;
  si.si_code = ILL_ILLOPN;
  set_mask(BIT(SIGILL) | BIT(SIGSEGV));
  printf("queue ILL %ld\n", syscall(SYS_rt_sigqueueinfo, getpid(), SIGILL, &si));
  si.si_code = SEGV_MAPERR;
  printf("tgqueue SEGV %ld\n", syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), SIGSEGV, &si));
  printf("pending %016llx\n", (unsigned long long)get_pending());
  set64 ill = BIT(SIGILL);
  siginfo_t got;
  struct timespec ts = {0, 0};
  long r = syscall(SYS_rt_sigtimedwait, &ill, &got, &ts, 8);
  printf("took %ld code %d\n", r, got.si_code);
  r = syscall(SYS_rt_sigqueueinfo, getpid(), SIGILL, (void *)8);
  printf("bad info %ld errno %d\n", r, errno);
  set_mask(0);
  printf("not reached\n");
  return 0;
}

/* A child whose exit signal is SIGILL (clone's CSIGNAL): the parent gets a
 * SIGILL with si_code CLD_EXITED, not a fault; blocked, it stays pending;
 * unblocked, the default action ends the parent. */
static int exit_signal(void) {
  set_mask(BIT(SIGILL));
  long c = syscall(SYS_clone, (long)SIGILL, 0L, 0L, 0L, 0L);
  if (c == 0)
    _exit(7);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  set64 ill = BIT(SIGILL);
  long r = syscall(SYS_rt_sigtimedwait, &ill, &si, NULL, 8);
  printf("took %ld code %d status %d\n", r, si.si_code, si.si_status);
  int st;
  printf("reaped %d\n", waitpid((pid_t)c, &st, __WALL) == c && WEXITSTATUS(st) == 7);
  c = syscall(SYS_clone, (long)SIGILL, 0L, 0L, 0L, 0L);
  if (c == 0)
    _exit(8);
  struct timespec ts = {0, 20 * 1000 * 1000};
  nanosleep(&ts, NULL);
  set_mask(0);
  printf("not reached\n");
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const char *what = argc > 1 ? argv[1] : "procmask";
  if (!strcmp(what, "smc"))
    return smc();
  if (!strcmp(what, "procmask"))
    return procmask_cases();
  if (!strcmp(what, "waits"))
    return waits();
  if (!strcmp(what, "pending"))
    return pending();
  if (!strcmp(what, "ppoll_kill"))
    return ppoll_kill();
  if (!strcmp(what, "suspend"))
    return suspend();
  if (!strcmp(what, "exit_signal"))
    return exit_signal();
  if (!strcmp(what, "queue_self"))
    return queue_self();
  if (!strcmp(what, "exec"))
    return exec_parent(argv[0]);
  if (!strcmp(what, "exec_child"))
    return exec_child();
  return fault(what);
}
