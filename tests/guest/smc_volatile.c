/* smc_volatile.c - code that shares its page with data written all the
 * time, and is itself rewritten now and then:
 *   - a GCC nested function called through its trampoline, which lives on
 *     the (executable) stack next to the caller's variables;
 *   - a JIT page whose functions are patched (their immediates change)
 *     while a counter beside them is written on every call; functions of
 *     3 bytes (under a qword), of 8 and of 13 bytes, and one with a loop.
 * Under tern such a page stops being write-protected after a few write
 * faults and its blocks compare their bytes when entered; the results
 * must stay those of the code as it is at each call. A 50 us timer keeps
 * signals landing everywhere, those checks included. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>

static void apply(void (*f)(int), int n) {
  for (int i = 0; i < n; i++)
    f(i);
}

static long nested(int base) {
  long sum = 0;
  void add(int x) { sum += (long)x * base; }
  apply(add, 200);
  return sum;
}

typedef int (*fn)(void);

static volatile sig_atomic_t ticks;
static void tick(int sig) {
  (void)sig;
  ticks++;
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = tick;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 50}, {0, 50}};
  setitimer(ITIMER_REAL, &it, NULL);
  long t = 0;
  for (int k = 0; k < 3000; k++)
    t += nested(k % 13);
  printf("nested %ld\n", t);

  uint8_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED)
    return 1;
  volatile long *counter = (volatile long *)(page + 2048);
  long total = 0;
  for (int i = 0; i < 20000; i++) {
    /* mov al, imm8; ret (3 bytes), rewritten every 7th turn */
    if (i % 7 == 0) {
      uint8_t f1[] = {0xb0, (uint8_t)i, 0xc3};
      memcpy(page, f1, sizeof f1);
    }
    /* mov eax, imm32; nop; nop; ret (8 bytes), every 5th turn */
    if (i % 5 == 0) {
      uint8_t f2[] = {0xb8, 0, 0, 0, 0, 0x90, 0x90, 0xc3};
      int v = i * 3;
      memcpy(f2 + 1, &v, 4);
      memcpy(page + 64, f2, sizeof f2);
    }
    /* mov eax, imm32; add eax, imm32; ret with the second immediate (past
     * the first qword) rewritten every 3rd turn: 13 bytes */
    if (i % 3 == 0) {
      uint8_t f3[] = {0xb8, 1, 0, 0, 0, 0x05, 0, 0, 0, 0, 0x90, 0x90, 0xc3};
      int v = i;
      memcpy(f3 + 6, &v, 4);
      memcpy(page + 128, f3, sizeof f3);
    }
    /* xor eax, eax; mov ecx, imm32; L: add eax, ecx; loop L; ret */
    if (i % 11 == 0) {
      uint8_t f4[] = {0x31, 0xc0, 0xb9, 0, 0, 0, 0, 0x01, 0xc8, 0xe2, 0xfc, 0xc3};
      int v = 1 + i % 50;
      memcpy(f4 + 3, &v, 4);
      memcpy(page + 192, f4, sizeof f4);
    }
    total += (uint8_t)((fn)page)();
    *counter += 1;
    total += ((fn)(page + 64))();
    *counter += 1;
    total += ((fn)(page + 128))();
    *counter += 1;
    total += ((fn)(page + 192))();
  }
  printf("jit %ld counter %ld\n", total, *counter);
  memset(&it, 0, sizeof it);
  setitimer(ITIMER_REAL, &it, NULL);
  return 0;
}
