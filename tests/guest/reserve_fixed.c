/* reserve_fixed.c - address-space reservations with MAP_FIXED and
 * PROT_NONE over huge ranges, as ThreadSanitizer makes for every gap of
 * its memory layout (one of them 16 TiB at 0x200000000000), then a part
 * of one made usable, then the reservations released. Natively they all
 * succeed; tern's own memory may lie inside them. A reservation with
 * MAP_FIXED_NOREPLACE (LTP's stack_clash fills every gap with them) is
 * refused only where the program has a mapping. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static int reserve(unsigned long addr, unsigned long len) {
  void *p = mmap((void *)addr, len, PROT_NONE, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == (void *)addr;
}

static int reserve_new(unsigned long addr, unsigned long len) {
  void *p = mmap((void *)addr, len, PROT_NONE, MAP_PRIVATE | MAP_FIXED_NOREPLACE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == (void *)addr ? 1 : p == MAP_FAILED && errno == EEXIST ? -1 : 0;
}

int main(void) {
  unsigned long big = 0x200000000000UL, len = 0x100000000000UL;
  printf("noreplace free %d\n", reserve_new(big, len));
  printf("noreplace taken %d\n", reserve_new(big, len));
  printf("reserve 16 TiB %d\n", reserve(big, len));
  printf("reserve 1 TiB %d\n", reserve(0x100000000000UL, 0x10000000000UL));
  /* A page at the start of the big reservation, made writable. */
  char *w = mmap((void *)big, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0);
  printf("usable %d\n", w == (char *)big);
  if (w == (char *)big) {
    strcpy(w, "hello");
    printf("%s\n", w);
  }
  printf("release %d %d\n", munmap((void *)big, len), munmap((void *)0x100000000000UL, 0x10000000000UL));
  return 0;
}
