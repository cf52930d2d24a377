/* stack_limit.c - the main stack grows as RLIMIT_STACK allows at the time
 * of each fault, as Linux's does:
 *   - lowered, a recursion past the limit dies of SIGSEGV (caught on an
 *     alternate stack, in a child); raised at run time (cc1 raises its own
 *     limit to 64 MiB), a recursion 40 MiB deep succeeds;
 *   - the stack is the highest mapping but the vDSO's (/proc/self/maps),
 *     with room below it: a mapping 2 MiB under its start succeeds;
 *   - mprotect with PROT_GROWSDOWN (glibc's way to make the stack
 *     executable) works on it from its start: without PROT_EXEC a
 *     trampoline below the page named faults; with it, GCC nested-function
 *     trampolines then
 *     run from deep in the grown part, rewritten to name other functions. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1024UL * 1024)

__attribute__((noinline)) static uint64_t down(uint64_t bytes) {
  volatile char frame[4096];
  memset((char *)frame, (int)(bytes >> 12), sizeof frame);
  if (bytes <= sizeof frame)
    return frame[7];
  return down(bytes - sizeof frame) + frame[100];
}

static void apply(void (*f)(int), int n) {
  for (int i = 0; i < n; i++)
    f(i);
}

/* Two recursions alike but for what their nested function does: called
 * in turn from the same place, their frames and trampolines fall at the
 * same addresses, the trampolines naming other functions; a trampoline
 * at every 64th level, deep in the stack. */
#define NEST(name, op)                                                     \
  __attribute__((noinline)) static long name(int depth, int base) {        \
    volatile char pad[16384];                                              \
    pad[0] = (char)depth;                                                  \
    long sum = pad[0] & 0;                                                 \
    void add(int x) { sum += (long)x op base + depth; }                    \
    if (depth % 64 == 0 || depth == 299)                                   \
      apply(add, 50);                                                      \
    if (depth > 0)                                                         \
      sum += name(depth - 1, base + 1);                                    \
    return sum;                                                            \
  }
NEST(nest_mul, *)
NEST(nest_xor, ^)

/* A nested function's trampoline a few KiB below the caller's frame. */
__attribute__((noinline)) static long shallow(int base) {
  long sum = 0;
  void add(int x) { sum += (long)x * base; }
  apply(add, 3);
  return sum;
}

__attribute__((noinline)) static long below(int base) {
  volatile char pad[8192];
  pad[0] = (char)base;
  return shallow(base) + (pad[0] & 0);
}

static void segv_exec(int sig) {
  static const char msg[] = "stack not executable: SIGSEGV\n";
  (void)sig;
  write(1, msg, sizeof msg - 1);
  _exit(0);
}

/* SIGSEGV goes to `handler`, on an alternate stack (the stack itself may
 * be what faulted). */
static void catch_segv(void (*handler)(int)) {
  static char alt[64 * 1024];
  stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
  sigaltstack(&ss, NULL);
  struct sigaction sa = {0};
  sa.sa_handler = handler;
  sa.sa_flags = SA_ONSTACK;
  sigaction(SIGSEGV, &sa, NULL);
}

static void segv(int sig) {
  static const char msg[] = "overflow: SIGSEGV\n";
  (void)sig;
  write(1, msg, sizeof msg - 1);
  _exit(0);
}

int main(void) {
  struct rlimit rl;
  getrlimit(RLIMIT_STACK, &rl);
  /* The highest mapping but the vDSO, vvar and vsyscall. */
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  uintptr_t stack_lo = 0, stack_hi = 0, highest_other = 0;
  while (f && fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    if (sscanf(line, "%lx-%lx", &lo, &hi) != 2)
      continue;
    if (strstr(line, "[stack]"))
      stack_lo = lo, stack_hi = hi;
    else if (!strstr(line, "[vdso]") && !strstr(line, "[vvar") && !strstr(line, "[vsyscall]") && hi > highest_other)
      highest_other = hi;
  }
  if (f)
    fclose(f);
  printf("stack named: %s\n", stack_hi ? "yes" : "no");
  printf("stack highest: %s\n", stack_lo > highest_other ? "yes" : "no");
  uintptr_t here = (uintptr_t)&rl;
  printf("sp in stack: %s\n", here >= stack_lo && here < stack_hi ? "yes" : "no");

  /* Room below: a mapping 2 MiB under the stack's start (in its guard
   * gap's reach only when the stack grows that far). */
  uintptr_t at = (stack_lo - 2 * MIB) & ~(uintptr_t)4095;
  void *p = mmap((void *)at, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  printf("map below stack: %s\n", p == (void *)at ? "ok" : "failed");
  if (p == (void *)at)
    munmap(p, 4096);

  /* Lowered: past the limit, SIGSEGV. */
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    catch_segv(segv);
    struct rlimit small = {16 * MIB, rl.rlim_max};
    setrlimit(RLIMIT_STACK, &small);
    printf("past the limit: %llu\n", (unsigned long long)down(32 * MIB));
    return 1;
  }
  int st;
  waitpid(c, &st, 0);
  printf("child: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));

  /* Raised at run time: 40 MiB deep. */
  if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= 64 * MIB) {
    struct rlimit big = {64 * MIB, rl.rlim_max};
    setrlimit(RLIMIT_STACK, &big);
    printf("deep 40 MiB: %llu\n", (unsigned long long)down(40 * MIB));
  } else {
    printf("deep 40 MiB: %llu\n", (unsigned long long)0);
  }

  /* PROT_GROWSDOWN without PROT_EXEC on the page holding sp: the stack
   * loses it down to its start, and a trampoline below faults. */
  fflush(stdout);
  c = fork();
  if (c == 0) {
    catch_segv(segv_exec);
    uintptr_t pg = here & ~(uintptr_t)4095;
    int e = mprotect((void *)pg, 4096, PROT_READ | PROT_WRITE | PROT_GROWSDOWN);
    printf("mprotect growsdown, not executable: %d\n", e);
    printf("trampoline ran: %ld\n", below(3));
    return 1;
  }
  waitpid(c, &st, 0);
  printf("child: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));

  /* PROT_GROWSDOWN on the page holding sp: the whole stack executable. */
  uintptr_t page = here & ~(uintptr_t)4095;
  int r = mprotect((void *)page, 4096, PROT_READ | PROT_WRITE | PROT_EXEC | PROT_GROWSDOWN);
  printf("mprotect growsdown: %d\n", r);
  long t = 0;
  for (int k = 0; k < 20; k++)
    t += (k % 2 ? nest_xor : nest_mul)(300, k); /* about 5 MiB deep */
  printf("nested %ld\n", t);

  return 0;
}
