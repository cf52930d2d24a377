/* Maps PROT_NONE pages until the kernel refuses (vm.max_map_count, as
 * LTP munmap04 does), then runs code not run before (which tern translates
 * then, allocating as it does) and unmaps them all. The kernel then
 * refuses tern's heap an in-place brk too: tern must not need one. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <errno.h>
#include <math.h>

static void **maps;
int main(int argc, char **argv) {
  size_t ps = 4096, n = 0;
  maps = malloc(sizeof(void *) * 70000);
  char *base = (char *)0x10000000;
  for (;;) {
    void *p = mmap(base, ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED) {
      if (errno == EEXIST) { base += 2 * ps; continue; }
      break;
    }
    maps[n++] = p;
    base += 2 * ps;
  }
  int e = errno;
  /* New code: formatting, math, string functions. */
  char buf[256];
  double x = 0;
  for (int i = 1; i < 2000; i++) x += sqrt(i) * log(i) / (1 + sin(i));
  snprintf(buf, sizeof buf, "%s %.3f %g %e", strerror(e), x, x / 7, x * 3);
  for (size_t i = 0; i < n; i++) munmap(maps[i], ps);
  printf("mapped until %s, then %zu\n", e == ENOMEM ? "ENOMEM" : "?", strlen(buf) > 10 ? (size_t)1 : 0);
  return 0;
}
