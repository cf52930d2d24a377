/* mmap.c - address-space system calls: mmap, munmap, mremap, mprotect,
 * madvise, shared file mappings, and sbrk/brk.
 *
 * Faults on unmapped or protected pages are caught with a SIGSEGV handler
 * and reported with their si_code, so the emulator must deliver precise
 * SIGSEGVs. Addresses are never printed, only offsets and contents. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf fault_env;
static volatile void *fault_addr;

static void on_segv(int sig, siginfo_t *info, void *ctx) {
  (void)ctx;
  fault_addr = info->si_addr;
  if (sig == SIGBUS)
    siglongjmp(fault_env, info->si_code == BUS_ADRERR ? 4 : 5);
  siglongjmp(fault_env, info->si_code == SEGV_MAPERR ? 1 : info->si_code == SEGV_ACCERR ? 2 : 3);
}

/* Tries to read (write=0) or write (write=1) *p; returns a description. */
static const char *probe(volatile char *p, int write) {
#ifndef WITH_SIGNALS
  /* Without guest signal handlers only accessible memory can be touched. */
  (void)p;
  (void)write;
  return "(not probed)";
#endif
  int r = sigsetjmp(fault_env, 1);
  if (r == 0) {
    if (write)
      *p = 1;
    else
      (void)*p;
    return "ok";
  }
  if (fault_addr != (void *)p)
    return "fault at wrong address";
  static const char *names[] = {"", "SEGV_MAPERR", "SEGV_ACCERR", "SIGSEGV other code",
                                "BUS_ADRERR", "SIGBUS other code"};
  return names[r];
}

static uint64_t sum_pages(const unsigned char *p, size_t pages, size_t page) {
  uint64_t s = 0;
  for (size_t i = 0; i < pages; i++)
    s = s * 1000003 + p[i * page] + p[i * page + page - 1];
  return s;
}

int main(void) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  printf("page size %zu\n", page);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);

  /* anonymous mapping: zero filled, writable */
  unsigned char *a = mmap(NULL, 64 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (a == MAP_FAILED)
    return 1;
  int zero = 1;
  for (size_t i = 0; i < 64 * page; i++)
    zero &= a[i] == 0;
  for (size_t i = 0; i < 64; i++)
    memset(a + i * page, (int)i + 1, page);
  printf("fresh mapping zeroed: %d, sum %llu\n", zero, (unsigned long long)sum_pages(a, 64, page));

  /* punch a hole */
  printf("munmap pages 10..11: %d\n", munmap(a + 10 * page, 2 * page));
  printf(" read page 9: %s, page 10: %s, page 11: %s, page 12: %s\n", probe((char *)a + 9 * page, 0),
         probe((char *)a + 10 * page, 0), probe((char *)a + 11 * page + 5, 0),
         probe((char *)a + 12 * page, 0));

  /* protections */
  printf("mprotect pages 0..3 read-only: %d\n", mprotect(a, 4 * page, PROT_READ));
  printf(" read: %s, write: %s, write page 4: %s\n", probe((char *)a + 100, 0),
         probe((char *)a + 2 * page + 7, 1), probe((char *)a + 4 * page, 1));
  printf("mprotect pages 0..3 none: %d\n", mprotect(a, 4 * page, PROT_NONE));
  printf(" read: %s\n", probe((char *)a + page, 0));
  mprotect(a, 4 * page, PROT_READ | PROT_WRITE);
  printf(" restored rw: write %s, contents kept %d\n", probe((char *)a + 3 * page + 1, 1),
         a[3 * page + 2] == 4);

  /* MAP_FIXED replacement of pages 20..21 */
  void *fixed = mmap(a + 20 * page, 2 * page, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  printf("MAP_FIXED at requested address: %d, new page zeroed: %d, neighbour kept: %d\n",
         fixed == a + 20 * page, a[20 * page] == 0 && a[21 * page + 9] == 0, a[22 * page] == 23);

  /* madvise(DONTNEED) on private anonymous memory zero-fills */
  madvise(a + 30 * page, page, MADV_DONTNEED);
  printf("after MADV_DONTNEED: %d (page 31 kept %d)\n", a[30 * page + 5], a[31 * page] == 32);

  /* mremap: grow in place or move, shrink */
  unsigned char *b = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  for (size_t i = 0; i < 4 * page; i++)
    b[i] = (unsigned char)(i % 251);
  unsigned char *c = mremap(b, 4 * page, 256 * page, MREMAP_MAYMOVE);
  int kept = c != MAP_FAILED;
  for (size_t i = 0; kept && i < 4 * page; i++)
    kept &= c[i] == (unsigned char)(i % 251);
  printf("mremap grow: ok %d, data kept %d, tail zero %d\n", c != MAP_FAILED, kept,
         c[200 * page] == 0 && c[256 * page - 1] == 0);
  c[255 * page] = 9;
  unsigned char *d = mremap(c, 256 * page, 2 * page, 0);
  printf("mremap shrink in place: %d, data kept %d, beyond: %s\n", d == c, d[page + 3] == (page + 3) % 251,
         probe((char *)d + 3 * page, 0));
  printf("mremap without MAYMOVE to huge size fails or succeeds in place: %d\n",
         mremap(d, 2 * page, 1ul << 40, 0) == MAP_FAILED);
  munmap(d, 2 * page);
  munmap(a, 64 * page);
  printf("after munmap: %s\n", probe((char *)a + 40 * page, 0));

  /* a large reserve, touched sparsely */
  size_t big = 1ul << 30;
  unsigned char *r = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  uint64_t s = 0;
  for (size_t off = 0; off < big; off += big / 64) {
    r[off] = (unsigned char)(off >> 24);
    s += r[off] + r[off + 1];
  }
  printf("1 GB sparse mapping: %d sum %llu\n", r != MAP_FAILED, (unsigned long long)s);
  munmap(r, big);

  /* shared file mapping seen through read() */
  char path[] = "/tmp/tern-mmap-XXXXXX";
  int fd = mkstemp(path);
  unlink(path);
  if (fd < 0 || ftruncate(fd, 3 * page) != 0)
    return 2;
  char *m = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  strcpy(m + page + 10, "written through a shared mapping");
  msync(m, 3 * page, MS_SYNC);
  char got[64] = {0};
  ssize_t n = pread(fd, got, 32, (off_t)page + 10);
  printf("shared mapping via pread (%zd): %s\n", n, got);
  if (pwrite(fd, "PWRITE", 6, 20) != 6)
    return 2;
  printf("pwrite visible in mapping: %.6s\n", m + 20);
  char *priv = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  priv[20] = 'X';
  printf("private copy-on-write: mapping %.6s, shared %.6s\n", priv + 20, m + 20);
  char *past = mmap(NULL, 5 * page, PROT_READ, MAP_SHARED, fd, 0);
  printf("mapping past end of file: last page of file %s, page after it %s\n",
         probe(past + 3 * page - 1, 0), probe(past + 4 * page, 0));
  munmap(past, 5 * page);
  munmap(priv, page);
  munmap(m, 3 * page);
  close(fd);

  /* brk and sbrk (malloc may use brk too, so only relative moves are checked) */
  char *start = sbrk(0);
  char *p = sbrk((intptr_t)(16 * page));
  printf("sbrk grow returns old break: %d\n", p == start);
  memset(p, 0x5a, 16 * page);
  char *now = sbrk(0);
  printf("break moved by %ld pages\n", (long)((now - start) / (long)page));
  sbrk(-(intptr_t)(8 * page));
  printf("sbrk shrink: moved back %ld pages, still readable: %d\n",
         (long)((now - (char *)sbrk(0)) / (long)page), p[8 * page - 1] == 0x5a);
  int brk_result = brk(start);
  printf("brk back to start: %d, break restored: %d\n", brk_result, sbrk(0) == start);
  return 0;
}
