/* big_stack.c - large stack use: recursion 100000 calls deep, a 4 MB local
 * array, and variable-length arrays. The guest stack must be big enough and
 * grow on demand like Linux's (the default limit is 8 MB). It is not
 * executable (no nested functions here): code written on it faults, near
 * its top and 2 MiB down, in the part the kernel grew it by. */
#include <alloca.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static uintptr_t deepest;

__attribute__((noinline)) static uint64_t down(uint64_t n) {
  if (n == 0) {
    volatile char here;
    deepest = (uintptr_t)&here;
    return 1;
  }
  volatile uint64_t keep = n; /* lives in this frame across the call */
  uint64_t r = down(n - 1);
  return r * 31 + keep;
}

__attribute__((noinline)) static uint64_t big_array(unsigned salt) {
  char buf[4 << 20];
  for (size_t i = 0; i < sizeof buf; i++)
    buf[i] = (char)(i * 7 + salt);
  uint64_t sum = 0;
  for (size_t i = 0; i < sizeof buf; i += 4093)
    sum = sum * 131 + (unsigned char)buf[i];
  /* read back from the far end too */
  volatile char *far = buf;
  return sum ^ (unsigned char)far[0] ^ ((uint64_t)(unsigned char)far[sizeof buf - 1] << 8);
}

__attribute__((noinline)) static uint64_t vla(size_t n) {
  uint32_t a[n];
  for (size_t i = 0; i < n; i++)
    a[i] = (uint32_t)(i * i);
  char *b = alloca(n);
  memset(b, 'x', n);
  uint64_t s = 0;
  for (size_t i = 0; i < n; i++)
    s += a[i] + (unsigned char)b[i];
  return s;
}

static sigjmp_buf back;
static volatile int seen_code;

static void on_segv(int sig, siginfo_t *si, void *ctx) {
  (void)sig;
  (void)ctx;
  seen_code = si->si_code;
  siglongjmp(back, 1);
}

/* Writes `ret` at the start of a `size`-byte local buffer and calls it. */
__attribute__((noinline)) static const char *run_on_stack(size_t size) {
  char buf[size];
  memset(buf, 0xc3, size);
  if (sigsetjmp(back, 1))
    return "SIGSEGV";
  ((void (*)(void))(uintptr_t)buf)();
  return "ran";
}

/* In a child, with SIGSEGV caught on an alternate stack. */
static void exec_on_stack(size_t size) {
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    static char alt[65536];
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
    sigaltstack(&ss, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &sa, 0);
    const char *what = run_on_stack(size);
    printf("code on the stack, %zu KiB down: %s (si_code %d)\n", size >> 10, what, seen_code);
    fflush(stdout);
    _exit(0);
  }
  int st;
  waitpid(c, &st, 0);
  printf("child: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

int main(void) {
  volatile char top;
  exec_on_stack(64);
  exec_on_stack(2 << 20);
  for (uint64_t n = 10; n <= 100000; n *= 10) {
    uint64_t r = down(n);
    printf("down(%llu) = %016llx\n", (unsigned long long)n, (unsigned long long)r);
  }
  printf("stack used by 100000 frames: over 1 MB: %d\n", (uintptr_t)&top - deepest > (1u << 20));
  for (unsigned salt = 0; salt < 3; salt++)
    printf("4 MB array checksum %u: %016llx\n", salt, (unsigned long long)big_array(salt));
  for (size_t n = 1; n <= 1000000; n *= 10)
    printf("vla(%zu) = %llu\n", n, (unsigned long long)vla(n));
  return 0;
}
