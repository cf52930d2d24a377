/* jit_dual_map.c - code written through one mapping and run through
 * another, with nothing in between that tern sees (no mprotect, no munmap,
 * no write to the executable view):
 *   - a W^X JIT's two views of one memfd (.NET and SpiderMonkey keep their
 *     code this way): functions rewritten through the writable view, run
 *     through the executable one, one of them with a loop;
 *   - shared anonymous memory written by a forked child, run by the parent;
 *   - System V shared memory attached twice (writable, and executable).
 * Each function must return what its bytes say at the time of the call. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

typedef int (*fn)(void);

/* mov eax, imm32; ret */
static void put_const(uint8_t *at, int v) {
  uint8_t code[] = {0xb8, 0, 0, 0, 0, 0xc3};
  memcpy(code + 1, &v, 4);
  memcpy(at, code, sizeof code);
}

/* xor eax, eax; mov ecx, n; L: add eax, ecx; loop L; ret (sum 1..n) */
static void put_sum(uint8_t *at, int n) {
  uint8_t code[] = {0x31, 0xc0, 0xb9, 0, 0, 0, 0, 0x01, 0xc8, 0xe2, 0xfc, 0xc3};
  memcpy(code + 3, &n, 4);
  memcpy(at, code, sizeof code);
}

int main(void) {
  int fd = memfd_create("jit", 0);
  if (fd < 0 || ftruncate(fd, 8192) != 0)
    return 1;
  uint8_t *w = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  uint8_t *x = mmap(NULL, 8192, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
  long sum = 0;
  for (int i = 0; i < 3000; i++) {
    put_const(w, i);
    if (i % 3 == 0)
      put_sum(w + 4096 - 6, 1 + i % 40); /* straddles the two pages */
    sum += ((fn)x)() + ((fn)(x + 4096 - 6))();
  }
  printf("dual views %ld\n", sum);

  uint8_t *s = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  long fsum = 0;
  for (int i = 0; i < 20; i++) {
    pid_t p = fork();
    if (p == 0) {
      put_const(s, 100 + i);
      _exit(0);
    }
    waitpid(p, NULL, 0);
    fsum += ((fn)s)();
  }
  printf("forked writer %ld\n", fsum);

  int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
  uint8_t *sw = shmat(id, NULL, 0);
  uint8_t *sx = shmat(id, NULL, SHM_EXEC | SHM_RDONLY);
  shmctl(id, IPC_RMID, NULL);
  long ssum = 0;
  if (sw != (void *)-1 && sx != (void *)-1) {
    for (int i = 0; i < 500; i++) {
      put_const(sw, 7 * i);
      ssum += ((fn)sx)();
    }
  }
  printf("sysv views %ld\n", ssum);
  return 0;
}
