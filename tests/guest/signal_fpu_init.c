/* signal_fpu_init.c - the FPU state across a handler when the program's own
 * state is in its init state: a program that never used x87 or touched
 * xmm8-15 takes signals whose handlers load the x87 stack, change its
 * control word and fill xmm8-15; after each rt_sigreturn the program sees
 * its own state again (x87 control, status and tag words, the registers,
 * xmm8-15), and each handler starts from the init state whatever the last
 * handler left. tern restores x87 here without `xrstor` when both the frame
 * and the registers hold the init state, so this is where a stale x87
 * stack would show. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct env {
  uint16_t fcw, fsw, ftw;
};

static struct env read_env(void) {
  uint8_t img[512] __attribute__((aligned(16)));
  __asm__ volatile("fxsave %0" : "=m"(img));
  struct env e;
  memcpy(&e.fcw, img, 2);
  memcpy(&e.fsw, img + 2, 2);
  e.ftw = img[4];
  return e;
}

static volatile int round_no;
static struct env at_entry[4];

static void on_usr1(int sig) {
  (void)sig;
  at_entry[round_no] = read_env();
  uint16_t cw = 0x0c7f; /* round toward zero, extended precision */
  double one = 1.0;
  __asm__ volatile("fldcw %0\n fldpi\n fld1\n fldl %1" ::"m"(cw), "m"(one));
  __asm__ volatile("pcmpeqd %%xmm8, %%xmm8\n pcmpeqd %%xmm15, %%xmm15" ::: "xmm8", "xmm15");
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  for (round_no = 0; round_no < 4; round_no++) {
    uint64_t x8[2], x15[2];
    raise(SIGUSR1);
    __asm__ volatile("movdqu %%xmm8, %0\n movdqu %%xmm15, %1" : "=m"(x8), "=m"(x15));
    struct env after = read_env();
    printf("round %d: handler began with fcw %#x fsw %#x ftw %#x; after: fcw %#x fsw %#x ftw %#x "
           "xmm8 %s xmm15 %s\n",
           round_no, at_entry[round_no].fcw, at_entry[round_no].fsw, at_entry[round_no].ftw, after.fcw,
           after.fsw, after.ftw, x8[0] == ~0ull ? "handler's" : "own", x15[1] == ~0ull ? "handler's" : "own");
  }
  return 0;
}
