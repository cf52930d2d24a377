/* Code in pages mapped PROT_EXEC alone (readable by the CPU on x86
 * without protection keys, but not by process_vm_readv): a function at
 * the very end of a one-page mapping (LTP mprotect04 copies one there),
 * one at its start, and one whose instruction straddles two such pages.
 * Each is called and returns 42 + its number. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

/* mov eax, imm32; ret */
static void put(unsigned char *at, int value) {
  unsigned char code[6] = {0xb8, 0, 0, 0, 0, 0xc3};
  memcpy(code + 1, &value, 4);
  memcpy(at, code, sizeof code);
}

static int call_at(unsigned char *page, size_t len, size_t off, int value) {
  put(page + off, value);
  if (mprotect(page, len, PROT_EXEC)) {
    perror("mprotect");
    return -1;
  }
  int r = ((int (*)(void))(page + off))();
  mprotect(page, len, PROT_READ | PROT_WRITE);
  return r;
}

int main(void) {
  size_t ps = 4096;
  unsigned char *one = mmap(0, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  unsigned char *two = mmap(0, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (one == MAP_FAILED || two == MAP_FAILED)
    return 1;
  printf("end of page: %d\n", call_at(one, ps, ps - 8, 43));
  printf("start of page: %d\n", call_at(one, ps, 0, 44));
  printf("across pages: %d\n", call_at(two, 2 * ps, ps - 3, 45));
  return 0;
}
