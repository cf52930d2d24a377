/* smc.c - self-modifying and generated code.
 *
 * Machine code is written into an RWX page and called, then patched and
 * called again (the emulator must notice the write and drop its stale
 * translation); patched 1000 times in a loop; generated in a RW page that
 * is then made RX with mprotect, and regenerated after going back to RW;
 * and finally an instruction that rewrites the immediate of the very next
 * instruction, which x86 executes with the new value. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef int (*fn0)(void);
typedef int (*fn1)(int);

/* mov eax, imm32 ; ret */
static void put_mov_eax_ret(unsigned char *p, uint32_t imm) {
  p[0] = 0xb8;
  memcpy(p + 1, &imm, 4);
  p[5] = 0xc3;
}

static void flush(unsigned char *p, size_t n) { __builtin___clear_cache((char *)p, (char *)p + n); }

int main(void) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  unsigned char *rwx = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE | PROT_EXEC,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (rwx == MAP_FAILED) {
    perror("mmap rwx");
    return 1;
  }
  fn0 f = (fn0)(void *)rwx;

  put_mov_eax_ret(rwx, 1234);
  flush(rwx, 6);
  int first = f();
  put_mov_eax_ret(rwx, 0x7654321);
  flush(rwx, 6);
  int second = f();
  printf("rwx: first call %d, after patching %d\n", first, second);

  /* patch only the immediate, 1000 times, calling after each patch */
  uint64_t sum = 0;
  for (uint32_t i = 0; i < 1000; i++) {
    uint32_t imm = i * 7919u + 3;
    memcpy(rwx + 1, &imm, 4);
    flush(rwx + 1, 4);
    uint32_t got = (uint32_t)f();
    sum += got;
    if (got != imm) {
      printf("iteration %u: got %u expected %u\n", i, got, imm);
      return 1;
    }
  }
  printf("patched immediate 1000 times: sum %llu\n", (unsigned long long)sum);

  /* switch the opcode of a one-argument function between add and sub:
   *   mov eax, edi ; add/sub eax, imm32 ; ret */
  unsigned char *g = rwx + 64;
  static const unsigned char body[] = {0x89, 0xf8, 0x05, 0x10, 0x00, 0x00, 0x00, 0xc3};
  memcpy(g, body, sizeof body);
  flush(g, sizeof body);
  fn1 h = (fn1)(void *)g;
  int results[6];
  for (int i = 0; i < 6; i++) {
    g[2] = (i % 2) ? 0x2d : 0x05; /* sub eax, imm32 : add eax, imm32 */
    flush(g, sizeof body);
    results[i] = h(100 * i);
  }
  printf("add/sub opcode flips: %d %d %d %d %d %d\n", results[0], results[1], results[2],
         results[3], results[4], results[5]);

  /* a loop in generated code whose trip count is patched:
   *   xor eax, eax ; mov ecx, imm32 ; L: add eax, ecx ; dec ecx ; jnz L ; ret */
  unsigned char *loop = rwx + 128;
  static const unsigned char loop_body[] = {0x31, 0xc0, 0xb9, 0, 0, 0, 0, 0x01, 0xc8, 0xff, 0xc9, 0x75, 0xfa, 0xc3};
  memcpy(loop, loop_body, sizeof loop_body);
  fn0 lf = (fn0)(void *)loop;
  for (uint32_t n = 1; n <= 10000; n *= 10) {
    memcpy(loop + 3, &n, 4);
    flush(loop, sizeof loop_body);
    printf("generated loop sum 1..%u = %d\n", n, lf());
  }

  /* W^X style: write while RW, run while RX, and again after rewriting */
  unsigned char *wx = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  fn0 wf = (fn0)(void *)wx;
  int wx_results[3];
  for (int round = 0; round < 3; round++) {
    if (mprotect(wx, page, PROT_READ | PROT_WRITE) != 0)
      return 2;
    put_mov_eax_ret(wx, 1000u + (uint32_t)round);
    if (mprotect(wx, page, PROT_READ | PROT_EXEC) != 0)
      return 2;
    flush(wx, 6);
    wx_results[round] = wf();
  }
  printf("mprotect RW->RX rounds: %d %d %d\n", wx_results[0], wx_results[1], wx_results[2]);

  /* an instruction that patches the next one:
   *   mov byte [rip+1], imm8 ; mov eax, imm32 ; ret
   * The store writes the low byte of the mov's immediate. */
  unsigned char *next = rwx + page; /* second page */
  static const unsigned char patcher[] = {0xc6, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00,
                                          0xb8, 0x00, 0x00, 0x00, 0x00, 0xc3};
  memcpy(next, patcher, sizeof patcher);
  fn0 pf = (fn0)(void *)next;
  int seen[4];
  for (int i = 0; i < 4; i++) {
    next[6] = (unsigned char)(0x11 * (i + 1)); /* the byte the store will write */
    flush(next, sizeof patcher);
    seen[i] = pf();
  }
  printf("store into the next instruction: %#x %#x %#x %#x\n", seen[0], seen[1], seen[2], seen[3]);

  munmap(wx, page);
  munmap(rwx, 2 * page);
  return 0;
}
