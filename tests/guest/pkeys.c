/* Protection keys, where the CPU and kernel have them (elsewhere it says
 * so and stops): a key allocated and put on a page, PKRU closing it to
 * reads and then to writes (SIGSEGV with SEGV_PKUERR and si_pkey), the
 * handler's PKRU (the kernel's initial one), a handler that opens the key
 * in its frame's PKRU so that the write succeeds after sigreturn, XCR0's
 * PKRU bit, and the key freed. */
#define _GNU_SOURCE
#include <cpuid.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

static sigjmp_buf jb;
static volatile char *page;
static int key;
static unsigned pkru_offset;

__attribute__((target("pku"))) static unsigned rdpkru(void) {
  unsigned eax, edx;
  __asm__ volatile("rdpkru" : "=a"(eax), "=d"(edx) : "c"(0));
  return eax;
}

__attribute__((target("pku"))) static void wrpkru(unsigned v) {
  __asm__ volatile("wrpkru" ::"a"(v), "c"(0), "d"(0) : "memory");
}

static void report(const char *what, siginfo_t *si) {
  printf("%s: signal %d code %d pkey %d at page %d handler pkru %x\n", what, si->si_signo, si->si_code,
         si->si_code == 4 ? si->si_pkey : -1, si->si_addr == (void *)page, rdpkru());
}

static void jump_out(int sig, siginfo_t *si, void *uc) {
  (void)sig, (void)uc;
  report("jump", si);
  siglongjmp(jb, 1);
}

/* Opens the key in the frame's PKRU: the write is made again after
 * sigreturn, which loads it. */
static void open_in_frame(int sig, siginfo_t *si, void *ucv) {
  (void)sig;
  report("open", si);
  ucontext_t *uc = ucv;
  unsigned char *xs = (unsigned char *)uc->uc_mcontext.fpregs;
  uint64_t bv;
  memcpy(&bv, xs + 512, 8);
  uint32_t pk;
  memcpy(&pk, xs + pkru_offset, 4);
  printf("frame: pkru in use %d value %x\n", (int)(bv >> 9 & 1), pk);
  pk &= ~(3u << (2 * key));
  memcpy(xs + pkru_offset, &pk, 4);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  key = pkey_alloc(0, 0);
  if (key < 0) {
    printf("no protection keys\n");
    return 0;
  }
  unsigned a, b, c, d;
  __cpuid_count(0xd, 9, a, b, c, d);
  pkru_offset = b;
  __asm__ volatile("xgetbv" : "=a"(a), "=d"(d) : "c"(0));
  printf("key %d, xcr0 has pkru %d, pkru %x\n", key, a >> 9 & 1, rdpkru());
  page = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("pkey_mprotect %d\n", pkey_mprotect((void *)page, 4096, PROT_READ | PROT_WRITE, key));
  page[0] = 7;
  struct sigaction sa = {0};
  sa.sa_sigaction = jump_out;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, 0);
  unsigned base = rdpkru() & ~(3u << (2 * key));
  /* Closed to every access. */
  wrpkru(base | 1u << (2 * key));
  if (!sigsetjmp(jb, 1))
    printf("read %d\n", page[0]);
  /* siglongjmp leaves PKRU as the handler had it. */
  printf("after the handler: pkru %x\n", rdpkru());
  /* Closed to writes only. */
  wrpkru(base | 2u << (2 * key));
  printf("read %d\n", page[0]);
  if (!sigsetjmp(jb, 1))
    page[0] = 8;
  sa.sa_sigaction = open_in_frame;
  sigaction(SIGSEGV, &sa, 0);
  wrpkru(base | 2u << (2 * key));
  page[0] = 9;
  printf("written after sigreturn: %d, pkru %x\n", page[0], rdpkru());
  printf("pkey_free %d\n", pkey_free(key));
  return 0;
}
