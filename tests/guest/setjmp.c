/* setjmp.c - setjmp/longjmp: simple, nested, from deep recursion, and
 * sigsetjmp/siglongjmp out of a signal handler. glibc mangles the saved
 * stack and return addresses with a per-process guard, so this also checks
 * that the guard in the thread control block works. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static jmp_buf outer, inner;
static int depth_reached;

static int recurse(int depth, int limit, jmp_buf *target) {
  volatile char pad[64];
  pad[depth % 64] = (char)depth;
  depth_reached = depth;
  if (depth == limit)
    longjmp(*target, depth);
  if (depth > limit)
    return 0;
  return recurse(depth + 1, limit, target) + pad[depth % 64];
}

static int nested(void) {
  volatile int stage = 0;
  int r = setjmp(inner);
  if (r == 0) {
    stage = 1;
    recurse(0, 500, &inner);
    return -1;
  }
  printf("inner caught %d at stage %d\n", r, stage);
  if (r == 500) {
    stage = 2;
    longjmp(outer, 7); /* leave through two frames */
  }
  return stage;
}

static sigjmp_buf sig_env;

__attribute__((unused)) static void on_signal(int sig) { siglongjmp(sig_env, sig); }

int main(void) {
  volatile int count = 0;
  int r = setjmp(outer);
  printf("setjmp returned %d, count %d\n", r, count);
  if (count++ < 3)
    longjmp(outer, 0); /* longjmp with 0 makes setjmp return 1 */

  r = setjmp(outer);
  if (r == 0) {
    nested();
    printf("not reached\n");
  } else {
    printf("outer caught %d\n", r);
  }

  for (int limit = 1; limit <= 20000; limit *= 5) {
    jmp_buf deep;
    int got = setjmp(deep);
    if (got == 0)
      recurse(0, limit, &deep);
    printf("deep jump from %d: got %d depth %d\n", limit, got, depth_reached);
  }

#ifdef WITH_SIGNALS
  signal(SIGUSR1, on_signal);
  sigset_t mask;
  for (int i = 0; i < 3; i++) {
    int s = sigsetjmp(sig_env, 1);
    if (s == 0) {
      raise(SIGUSR1);
      printf("signal not delivered\n");
    } else {
      sigprocmask(SIG_BLOCK, NULL, &mask);
      printf("siglongjmp %d: signal %d, SIGUSR1 blocked after restore: %d\n", i, s,
             sigismember(&mask, SIGUSR1));
    }
  }
  if (sigsetjmp(sig_env, 0) == 0) {
    raise(SIGUSR1);
  } else {
    sigprocmask(SIG_BLOCK, NULL, &mask);
    printf("sigsetjmp without mask save: SIGUSR1 still blocked: %d\n", sigismember(&mask, SIGUSR1));
  }
#endif
  return 0;
}
