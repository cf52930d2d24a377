/* eflags_ac.c - the alignment-check flag (EFLAGS.AC, bit 18) set by the guest.
 *
 * The JVM's CPU probe toggles AC with popf to tell a 386 from a 486 and
 * branches while it is set. Natively nothing else happens while AC is on;
 * an emulator whose own glue does a misaligned access meanwhile takes an
 * alignment-check fault (SIGBUS BUS_ADRALN) of its own. This program sets
 * AC, runs branches, calls, an indirect call and a loop while it is on,
 * reads it back with pushf, clears it, and finally takes a genuine
 * misaligned-access fault with AC set and catches it (the handler runs
 * with AC still set, as the kernel leaves it). */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define AC (1ul << 18)

static uint64_t get_flags(void) {
  uint64_t f;
  __asm__ volatile("pushfq; popq %0" : "=r"(f));
  return f;
}

static void set_flags(uint64_t f) { __asm__ volatile("pushq %0; popfq" : : "r"(f) : "cc", "memory"); }

static int __attribute__((noinline)) step(int i) { return i * 3 + 1; }

static sigjmp_buf env;
static volatile int bus_code;

/* The kernel leaves AC set in the handler: clear it first thing. */
static void on_bus(int sig, siginfo_t *si, void *uc) {
  set_flags(get_flags() & ~AC);
  (void)sig;
  (void)uc;
  bus_code = si->si_code;
  siglongjmp(env, 1);
}

int main(void) {
  uint64_t orig = get_flags();
  /* The 386/486 probe: flip AC, read it back, restore. */
  set_flags(orig ^ AC);
  uint64_t seen = get_flags();
  set_flags(orig);
  printf("ac toggles: %d\n", ((seen ^ orig) & AC) != 0);

  /* Branches, direct and indirect calls and a loop with AC on: every
   * access here is aligned, as in the probe. */
  int (*volatile fp)(int) = step;
  set_flags(get_flags() | AC);
  int acc = 0;
  for (int i = 0; i < 1000; i++) {
    acc += (i & 1) ? step(i) : fp(i);
  }
  uint64_t during = get_flags();
  set_flags(get_flags() & ~AC);
  printf("acc %d, ac during %d, after %d\n", acc, (during & AC) != 0, (get_flags() & AC) != 0);

  /* A misaligned load with AC on faults natively (BUS_ADRALN). */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_bus;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGBUS, &sa, NULL);
  static char buf[16] __attribute__((aligned(8)));
  volatile uint64_t v = 0;
  if (sigsetjmp(env, 1) == 0) {
    set_flags(get_flags() | AC);
    uint64_t x;
    __asm__ volatile("movq (%1), %0" : "=r"(x) : "r"(buf + 1) : "memory");
    v = x;
    set_flags(get_flags() & ~AC);
    printf("no fault\n");
  } else {
    set_flags(get_flags() & ~AC);
    printf("SIGBUS si_code %d\n", bus_code);
  }
  (void)v;
  return 0;
}
