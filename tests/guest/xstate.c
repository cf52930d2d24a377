/* xstate.c - the extended register state survives every trip out of
 * guest code.
 *
 * Each case loads seeded random values into every vector register the CPU
 * offers (ZMM0-31 and the opmask registers k0-7 where the guest's CPUID and
 * XCR0 report AVX-512, else YMM0-15), a non-default MXCSR (rounding
 * mode, FTZ, DAZ, sticky flags) and a full x87 stack under a non-default
 * control word (rounding, precision), makes one trip (a syscall, cpuid, a fault
 * fixed up by a handler, an asynchronous signal, self-modifying code, first
 * and chained execution of many blocks, indirect-branch lookups, thread
 * and process creation, hot loops...), then reads every register back and prints the
 * registers that differ from what the trip leaves natively. The load, the
 * trip and the read-back are one stretch of assembly (top-level asm below),
 * so no compiled code runs in between. Signal handlers also compare the
 * fpstate of their ucontext with the registers at the signal, record the
 * state they start with (the kernel gives them the init state), and
 * scribble over every register before returning.
 *
 * Usage: xstate [case|all] [ymm]; `ymm` uses YMM0-15 only even with
 * AVX-512 (to compare with a guest model without it). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "prng.h"

/* The register image the assembly loads from and stores to. */
struct xregs {
  uint8_t zmm[32][64];
  uint64_t k[8];
  uint32_t mxcsr;
  uint16_t fcw, fsw;  /* x87 control word; status word after the load */
  uint8_t st[8][10];  /* x87 st0..st7 */
  uint8_t pad[40];
} __attribute__((aligned(64)));

#define OFF_K 2048
#define OFF_MXCSR 2112
_Static_assert(sizeof(struct xregs) == 2240, "the assembly knows the layout");

/* Read by the assembly: 1 = ZMM0-31 and k0-7, 0 = YMM0-15. */
int xs_have512;
/* Trip parameters and results shared with the assembly. */
int xs_wfd, xs_rfd;
char xs_byte = 'x';
char xs_rbuf[8];
long xs_ret;
uint64_t xs_sum;
void *xs_fault_addr;
void *xs_target;
void *xs_child_stack;
volatile int xs_child_done;
volatile char xs_armed, xs_done;
struct timespec xs_ts = {0, 2000000};
struct xregs xs_child_regs, xs_entry_regs, xs_junk;

/* Register load/store routines and one function per trip:
 * trip_NAME(const struct xregs *in, struct xregs *out) loads `in`, makes
 * the trip and stores the registers to `out`; it restores the caller's
 * MXCSR before returning (the vector registers are caller-saved). */
__asm__(
    ".pushsection .text\n"
    /* xs_load: registers from the image at %rbx. */
    ".globl xs_load\n"
    "xs_load:\n"
    "  cmpl $0, xs_have512(%rip)\n"
    "  je 1f\n"
    "  .irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
    "  vmovdqu64 \\i*64(%rbx), %zmm\\i\n"
    "  .endr\n"
    "  .irp i,0,1,2,3,4,5,6,7\n"
    "  kmovq 2048+\\i*8(%rbx), %k\\i\n"
    "  .endr\n"
    "  jmp 2f\n"
    "1:\n"
    "  .irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
    "  vmovdqu \\i*64(%rbx), %ymm\\i\n"
    "  .endr\n"
    "2:\n"
    "  ldmxcsr 2112(%rbx)\n"
    "  fninit\n"
    "  fldcw 2116(%rbx)\n"
    "  .irp i,7,6,5,4,3,2,1,0\n"
    "  fldt 2120+\\i*10(%rbx)\n"
    "  .endr\n"
    "  ret\n"
    /* xs_store: registers to the image at %r12. */
    ".globl xs_store\n"
    "xs_store:\n"
    "  stmxcsr 2112(%r12)\n"
    "  fnstcw 2116(%r12)\n"
    "  fnstsw 2118(%r12)\n"
    "  .irp i,0,1,2,3,4,5,6,7\n"
    "  fstpt 2120+\\i*10(%r12)\n"
    "  .endr\n"
    "  cmpl $0, xs_have512(%rip)\n"
    "  je 1f\n"
    "  .irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
    "  vmovdqu64 %zmm\\i, \\i*64(%r12)\n"
    "  .endr\n"
    "  .irp i,0,1,2,3,4,5,6,7\n"
    "  kmovq %k\\i, 2048+\\i*8(%r12)\n"
    "  .endr\n"
    "  ret\n"
    "1:\n"
    "  .irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
    "  vmovdqu %ymm\\i, \\i*64(%r12)\n"
    "  .endr\n"
    "  ret\n"
    /* xs_clobber: every register from xs_junk (signal handlers). */
    ".globl xs_clobber\n"
    "xs_clobber:\n"
    "  push %rbx\n"
    "  lea xs_junk(%rip), %rbx\n"
    "  call xs_load\n"
    "  pop %rbx\n"
    "  ret\n"
    /* xs_entry_stub: a signal handler's first instructions record the
     * registers it starts with, then go on to the C handler in xs_next. */
    ".globl xs_entry_stub\n"
    "xs_entry_stub:\n"
    "  push %r12\n"
    "  lea xs_entry_regs(%rip), %r12\n"
    "  call xs_store\n"
    "  pop %r12\n"
    "  jmp *xs_next(%rip)\n"

    ".macro TRIP name\n"
    "  .globl trip_\\name\n"
    "  trip_\\name:\n"
    "  push %rbx\n  push %r12\n  push %r13\n  push %r14\n  push %r15\n  push %rbp\n"
    "  sub $8, %rsp\n"
    "  stmxcsr (%rsp)\n"
    "  mov %rdi, %rbx\n  mov %rsi, %r12\n"
    "  call xs_load\n"
    ".endm\n"
    ".macro ENDTRIP\n"
    "  call xs_store\n"
    "  ldmxcsr (%rsp)\n"
    "  vzeroupper\n"
    "  add $8, %rsp\n"
    "  pop %rbp\n  pop %r15\n  pop %r14\n  pop %r13\n  pop %r12\n  pop %rbx\n"
    "  ret\n"
    ".endm\n"

    "TRIP nothing\n"
    "ENDTRIP\n"

    "TRIP getpid\n"
    "  mov $39, %eax\n  syscall\n"
    "ENDTRIP\n"

    "TRIP write\n"
    "  mov $1, %eax\n  mov xs_wfd(%rip), %edi\n  lea xs_byte(%rip), %rsi\n  mov $1, %edx\n  syscall\n"
    "  mov %rax, xs_ret(%rip)\n"
    "ENDTRIP\n"

    /* A read that blocks (another process writes later), or that a
     * signal interrupts (xs_armed tells the handler it is in the trip). */
    "TRIP read\n"
    "  movb $1, xs_armed(%rip)\n"
    "  xor %eax, %eax\n  mov xs_rfd(%rip), %edi\n  lea xs_rbuf(%rip), %rsi\n  mov $1, %edx\n  syscall\n"
    "  movb $0, xs_armed(%rip)\n"
    "  mov %rax, xs_ret(%rip)\n"
    "ENDTRIP\n"

    "TRIP nanosleep\n"
    "  mov $35, %eax\n  lea xs_ts(%rip), %rdi\n  xor %esi, %esi\n  syscall\n"
    "  mov %rax, xs_ret(%rip)\n"
    "ENDTRIP\n"

    "TRIP cpuid\n"
    "  .irp leaf,0,1,7,0xd\n"
    "  mov $\\leaf, %eax\n  xor %ecx, %ecx\n  cpuid\n"
    "  .endr\n"
    "  mov $0xd, %eax\n  mov $1, %ecx\n  cpuid\n"
    "ENDTRIP\n"

    "TRIP xgetbv\n"
    "  xor %ecx, %ecx\n  xgetbv\n"
    "ENDTRIP\n"

    /* XGETBV(1): which components the CPU sees in use. */
    "TRIP xinuse\n"
    "  mov $1, %ecx\n  xgetbv\n"
    "  shl $32, %rdx\n  or %rdx, %rax\n  mov %rax, xs_ret(%rip)\n"
    "ENDTRIP\n"

    "TRIP rdtsc\n"
    "  rdtsc\n  lfence\n  rdtsc\n"
    "ENDTRIP\n"

    /* A load from a PROT_NONE page; the SIGSEGV handler makes it readable. */
    "TRIP segv\n"
    "  mov xs_fault_addr(%rip), %rax\n  mov (%rax), %rax\n"
    "  mov %rax, xs_ret(%rip)\n"
    "ENDTRIP\n"

    /* Spin without a syscall until a SIGALRM handler sets xs_done. */
    "TRIP spin\n"
    "  movb $1, xs_armed(%rip)\n"
    "1:\n  cmpb $0, xs_done(%rip)\n  je 1b\n"
    "  movb $0, xs_armed(%rip)\n"
    "ENDTRIP\n"

    /* Patch the immediate of `mov eax, imm32; ret` at xs_target and call
     * it, 64 times: every write hits translated code. */
    "TRIP smc\n"
    "  mov xs_target(%rip), %r13\n"
    "  mov $0x1000, %r14d\n  xor %r15d, %r15d\n"
    "1:\n  movl %r14d, 1(%r13)\n  call *%r13\n"
    "  cmp %eax, %r14d\n  je 2f\n  inc %r15d\n"
    "2:\n  inc %r14d\n  cmp $0x1040, %r14d\n  jne 1b\n"
    "  mov %r15, xs_ret(%rip)\n"
    "ENDTRIP\n"

    /* 256 direct jumps, each to a new block: unchained exits on the first
     * run, chained jumps afterwards. */
    "TRIP chain\n"
    "  xor %r14d, %r14d\n"
    "  .rept 256\n  inc %r14\n  jmp 1f\n  int3\n1:\n  .endr\n"
    "  mov %r14, xs_sum(%rip)\n"
    "ENDTRIP\n"

    /* 3000 calls through a register to 64 targets (and their returns). */
    "TRIP ibl\n"
    "  xor %r14d, %r14d\n  mov $12345, %r15\n  mov $3000, %r13d\n"
    "1:\n  lea (%r15,%r15,4), %r15\n  add $7, %r15\n"
    "  mov %r15, %rax\n  shr $7, %rax\n  and $63, %eax\n  shl $4, %rax\n"
    "  lea xs_ibl_targets(%rip), %rcx\n  add %rcx, %rax\n  call *%rax\n"
    "  dec %r13d\n  jnz 1b\n"
    "  mov %r14, xs_sum(%rip)\n"
    "ENDTRIP\n"
    "  .p2align 4\n"
    "xs_ibl_targets:\n"
    "  .set n, 1\n"
    "  .rept 64\n  .p2align 4\n  add $n, %r14\n  ret\n  .set n, (n*3+1) & 0xffff\n  .endr\n"

    /* Call generated code at xs_target (a long chain of new blocks). */
    "TRIP call\n"
    "  xor %r14d, %r14d\n  call *xs_target(%rip)\n"
    "  mov %r14, xs_sum(%rip)\n"
    "ENDTRIP\n"

    /* A raw thread clone: the child stores its registers to xs_child_regs
     * and exits; the parent's survive. */
    "TRIP clone\n"
    "  mov $56, %eax\n  mov $0x50f00, %edi\n  mov xs_child_stack(%rip), %rsi\n"
    "  xor %edx, %edx\n  xor %r10d, %r10d\n  xor %r8d, %r8d\n  syscall\n"
    "  test %rax, %rax\n  jnz 1f\n"
    "  lea xs_child_regs(%rip), %r12\n  call xs_store\n"
    "  movl $1, xs_child_done(%rip)\n"
    "  mov $60, %eax\n  xor %edi, %edi\n  syscall\n"
    "  ud2\n"
    "1:\n  mov %rax, xs_ret(%rip)\n"
    "ENDTRIP\n"

    /* fork: parent and child both store their registers. */
    "TRIP fork\n"
    "  mov $57, %eax\n  syscall\n  mov %rax, xs_ret(%rip)\n"
    "ENDTRIP\n"

    /* vfork: the child stores to xs_child_regs and exits at once. */
    "TRIP vfork\n"
    "  mov $58, %eax\n  syscall\n"
    "  test %rax, %rax\n  jnz 1f\n"
    "  lea xs_child_regs(%rip), %r12\n  call xs_store\n"
    "  mov $231, %eax\n  xor %edi, %edi\n  syscall\n"
    "  ud2\n"
    "1:\n  mov %rax, xs_ret(%rip)\n"
    "ENDTRIP\n"

    /* Hot loops (what a trace tier would compile): 200000 rounds of
     * integer work, then 200000 of ymm1 += ymm2 (qwords). */
    "TRIP hot\n"
    "  mov $200000, %ecx\n  xor %r14d, %r14d\n"
    "1:\n  add %rcx, %r14\n  imul $3, %r14, %r14\n  dec %ecx\n  jnz 1b\n"
    "  mov %r14, xs_sum(%rip)\n"
    "  mov $200000, %ecx\n"
    "2:\n  vpaddq %ymm2, %ymm1, %ymm1\n  dec %ecx\n  jnz 2b\n"
    "ENDTRIP\n"

    /* vzeroupper, then a syscall: the upper halves read back as zero. */
    "TRIP vzeroupper\n"
    "  vzeroupper\n  mov $39, %eax\n  syscall\n"
    "ENDTRIP\n"
    ".popsection\n");

typedef void trip_fn(const struct xregs *in, struct xregs *out);
extern trip_fn trip_nothing, trip_getpid, trip_write, trip_read, trip_nanosleep, trip_cpuid, trip_xgetbv,
    trip_xinuse, trip_rdtsc, trip_segv, trip_spin, trip_smc, trip_chain, trip_ibl, trip_call, trip_clone,
    trip_fork, trip_vfork, trip_vzeroupper, trip_hot;
extern char xs_entry_stub[];
extern void xs_clobber(void);
void *xs_next;

static int nzmm, zbytes; /* registers and bytes per register in use */

static void cpuid2(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
  __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

static uint64_t xgetbv0(void) {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}

/* Random registers and an MXCSR with a non-default rounding mode, FTZ,
 * DAZ and some sticky exception flags (all exceptions stay masked). */
static void randomize(struct xregs *r, uint64_t seed) {
  prng_seed(seed);
  memset(r, 0, sizeof *r);
  for (int i = 0; i < nzmm; i++)
    for (int j = 0; j < zbytes; j += 8) {
      uint64_t v = rnd64();
      memcpy(&r->zmm[i][j], &v, 8);
    }
  if (xs_have512)
    for (int i = 0; i < 8; i++) r->k[i] = rnd64();
  r->mxcsr = 0x1f80 | ((uint32_t)(1 + rnd_below(3)) << 13) | 0x8000 | 0x40 | (uint32_t)rnd_below(64);
  /* x87: all exceptions masked (bit 6 reads as 1), precision single or double, rounding not
   * to nearest; normal numbers (integer bit set, exponent 1..0x7ffe). */
  r->fcw = (uint16_t)(0x7f | (rnd_below(2) ? 0x200 : 0) | (1 + rnd_below(3)) << 10);
  for (int i = 0; i < 8; i++) {
    uint64_t m = rnd64() | 1ULL << 63;
    uint16_t e = (uint16_t)(1 + rnd_below(0x7ffe)) | (uint16_t)(rnd64() & 0x8000);
    memcpy(r->st[i], &m, 8);
    memcpy(r->st[i] + 8, &e, 2);
  }
  r->fsw = 0; /* after fninit and eight loads: TOP 0, no flags */
}

/* Prints `what: ok` or the registers of `got` that differ from `want`:
 * for each vector register the 16-byte lanes that differ (bit i = bytes
 * 16i..16i+15), opmask registers, MXCSR. */
static void report(const char *what, const struct xregs *got, const struct xregs *want) {
  char line[2048];
  int n = 0, bad = 0;
  n += snprintf(line + n, sizeof line - n, "%s:", what);
  for (int i = 0; i < nzmm; i++) {
    unsigned lanes = 0;
    for (int l = 0; l < zbytes / 16; l++)
      if (memcmp(&got->zmm[i][16 * l], &want->zmm[i][16 * l], 16)) lanes |= 1u << l;
    if (lanes && n < 1900) n += snprintf(line + n, sizeof line - n, " %s%d/lanes%x", xs_have512 ? "zmm" : "ymm", i, lanes);
    bad += lanes != 0;
  }
  for (int i = 0; i < 8; i++)
    if (got->k[i] != want->k[i]) {
      if (n < 1900) n += snprintf(line + n, sizeof line - n, " k%d", i);
      bad++;
    }
  for (int i = 0; i < 8; i++)
    if (memcmp(got->st[i], want->st[i], 10)) {
      if (n < 1900) n += snprintf(line + n, sizeof line - n, " st%d", i);
      bad++;
    }
  if (got->fcw != want->fcw || got->fsw != want->fsw) {
    n += snprintf(line + n, sizeof line - n, " fcw/fsw=%#x/%#x want %#x/%#x", got->fcw, got->fsw, want->fcw,
                  want->fsw);
    bad++;
  }
  if (got->mxcsr != want->mxcsr) {
    n += snprintf(line + n, sizeof line - n, " mxcsr=%#x/want %#x", got->mxcsr, want->mxcsr);
    bad++;
  }
  printf("%s%s\n", line, bad ? "" : " ok");
}

/* ---- signal handlers ---- */

static struct xregs *sig_expect; /* registers at the signal, or NULL */
static char sig_fpstate[256], sig_entry[128];
static int sig_count;

/* Compares the handler's ucontext fpstate with `want`: the legacy XMM
 * and MXCSR, then each xsave component (2 YMM_Hi128, 5 opmask,
 * 6 ZMM_Hi256, 7 Hi16_ZMM) found through fpx_sw_bytes and CPUID 0xD; a
 * component whose XSTATE_BV bit is clear is in its init state (zeros). */
static void check_fpstate(const ucontext_t *uc, const struct xregs *want) {
  const uint8_t *fp = (const uint8_t *)uc->uc_mcontext.fpregs;
  int n = 0;
  if (!fp) {
    snprintf(sig_fpstate, sizeof sig_fpstate, "no fpstate");
    return;
  }
  uint32_t mx;
  memcpy(&mx, fp + 24, 4);
  int bad = 0;
  for (int i = 0; i < 16; i++) bad += memcmp(fp + 160 + 16 * i, want->zmm[i], 16) != 0;
  uint16_t cw;
  memcpy(&cw, fp, 2);
  int bad87 = cw != want->fcw;
  for (int i = 0; i < 8; i++) bad87 += memcmp(fp + 32 + 16 * i, want->st[i], 10) != 0;
  n += snprintf(sig_fpstate + n, sizeof sig_fpstate - n, "x87 %s xmm %s mxcsr %s", bad87 ? "bad" : "ok",
                bad ? "bad" : "ok", mx == want->mxcsr ? "ok" : "bad");
  uint32_t magic1, xsize;
  uint64_t xfeatures, bv;
  memcpy(&magic1, fp + 464, 4);
  memcpy(&xfeatures, fp + 472, 8);
  memcpy(&xsize, fp + 480, 4);
  if (magic1 != 0x46505853) {
    snprintf(sig_fpstate + n, sizeof sig_fpstate - n, " no xsave");
    return;
  }
  memcpy(&bv, fp + 512, 8);
  static const struct {
    int bit;
    const char *name;
  } comps[] = {{2, "ymmh"}, {5, "k"}, {6, "zmmh"}, {7, "hi16"}};
  for (unsigned c = 0; c < sizeof comps / sizeof comps[0]; c++) {
    int bit = comps[c].bit;
    if (bit > 2 && !xs_have512) continue;
    if (!(xfeatures >> bit & 1)) {
      n += snprintf(sig_fpstate + n, sizeof sig_fpstate - n, " %s absent", comps[c].name);
      continue;
    }
    uint32_t r[4];
    cpuid2(0xd, (uint32_t)bit, r);
    if (r[1] + r[0] > xsize) {
      n += snprintf(sig_fpstate + n, sizeof sig_fpstate - n, " %s outside", comps[c].name);
      continue;
    }
    uint8_t want_bytes[1024], got_bytes[1024];
    size_t len = 0;
    for (int i = 0; i < 16; i++) {
      if (bit == 2) memcpy(want_bytes + 16 * i, &want->zmm[i][16], 16), len = 256;
      if (bit == 6) memcpy(want_bytes + 32 * i, &want->zmm[i][32], 32), len = 512;
      if (bit == 7) memcpy(want_bytes + 64 * i, want->zmm[16 + i], 64), len = 1024;
    }
    if (bit == 5) memcpy(want_bytes, want->k, 64), len = 64;
    if (bv >> bit & 1)
      memcpy(got_bytes, fp + r[1], len);
    else
      memset(got_bytes, 0, len);
    n += snprintf(sig_fpstate + n, sizeof sig_fpstate - n, " %s %s", comps[c].name,
                  memcmp(got_bytes, want_bytes, len) ? "bad" : "ok");
  }
}

/* What the handler started with: natively the init state. */
static void check_entry(void) {
  int nz = 0, nk = 0;
  static const uint8_t zero[64];
  for (int i = 0; i < nzmm; i++) nz += memcmp(xs_entry_regs.zmm[i], zero, (size_t)zbytes) != 0;
  for (int i = 0; i < 8; i++) nk += xs_entry_regs.k[i] != 0;
  snprintf(sig_entry, sizeof sig_entry, "nonzero vector regs %d, opmask %d, mxcsr %#x, fcw %#x fsw %#x", nz,
           nk, xs_entry_regs.mxcsr, xs_entry_regs.fcw, xs_entry_regs.fsw);
}

static void on_segv(int sig, siginfo_t *si, void *ctx) {
  (void)sig;
  check_entry();
  if (sig_expect) check_fpstate(ctx, sig_expect);
  mprotect((void *)((uintptr_t)si->si_addr & ~(uintptr_t)4095), 4096, PROT_READ);
  sig_count++;
  xs_clobber();
}

static void on_alarm(int sig, siginfo_t *si, void *ctx) {
  (void)sig, (void)si;
  if (!xs_armed) return;
  check_entry();
  if (sig_expect) check_fpstate(ctx, sig_expect);
  sig_count++;
  xs_done = 1;
  xs_clobber();
}

static void handle(int sig, void (*fn)(int, siginfo_t *, void *), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  xs_next = (void *)fn;
  sa.sa_sigaction = (void (*)(int, siginfo_t *, void *))(void *)xs_entry_stub;
  sa.sa_flags = SA_SIGINFO | flags;
  sigaction(sig, &sa, NULL);
}

static void timer_us(long first, long every) {
  struct itimerval it = {{0, every}, {0, first}};
  setitimer(ITIMER_REAL, &it, NULL);
}

/* ---- the cases ---- */

static struct xregs in, out, want;

/* Loads fresh random registers, makes the trip, reports. */
static void run(const char *name, trip_fn *trip, uint64_t seed) {
  randomize(&in, seed);
  memset(&out, 0, sizeof out);
  trip(&in, &out);
  report(name, &out, &in);
}

static void case_syscalls(void) {
  run("getpid", trip_getpid, 1);
  int p[2];
  if (pipe(p)) return;
  xs_wfd = p[1];
  run("write", trip_write, 2);
  char c = 0;
  ssize_t got = read(p[0], &c, 1);
  printf("write returned %ld, read back %zd '%c'\n", xs_ret, got, c);
  run("nanosleep", trip_nanosleep, 3);
  printf("nanosleep returned %ld\n", xs_ret);
  /* A read that blocks until a child writes. */
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    usleep(30000);
    write(p[1], "y", 1);
    _exit(0);
  }
  xs_rfd = p[0];
  run("read (blocking)", trip_read, 4);
  printf("read returned %ld '%c'\n", xs_ret, xs_rbuf[0]);
  waitpid(pid, NULL, 0);
  close(p[0]);
  close(p[1]);
}

/* A read of an empty pipe interrupted by a signal whose handler scribbles. */
static void case_eintr(void) {
  int p[2];
  if (pipe(p)) return;
  xs_rfd = p[0];
  handle(SIGALRM, on_alarm, 0);
  randomize(&in, 5);
  sig_expect = &in;
  timer_us(20000, 0);
  trip_read(&in, &out);
  report("read (EINTR)", &out, &in);
  printf("read returned %ld, handler ran %d, its fpstate: %s; it started with %s\n", xs_ret, sig_count,
         sig_fpstate, sig_entry);
  sig_expect = NULL;
  sig_count = 0;
  signal(SIGALRM, SIG_DFL);
  close(p[0]);
  close(p[1]);
}

static void case_cpu(void) {
  run("cpuid", trip_cpuid, 10);
  run("xgetbv", trip_xgetbv, 11);
  run("rdtsc", trip_rdtsc, 12);
  uint32_t r[4];
  cpuid2(0xd, 1, r);
  if (r[0] & 4) {
    run("xgetbv(1)", trip_xinuse, 13);
    /* In use for sure: SSE and AVX state, and with AVX-512 the opmask,
     * ZMM_Hi256 and Hi16_ZMM state (none is in its init state). */
    uint64_t sure = xs_have512 ? 0xe6 : 0x06;
    printf("XINUSE & %#llx = %#llx\n", (unsigned long long)sure, (unsigned long long)(xs_ret & sure));
  }
}

static void case_segv(void) {
  char *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  handle(SIGSEGV, on_segv, 0);
  for (int i = 0; i < 3; i++) {
    xs_fault_addr = page + 8 * i;
    randomize(&in, 20 + i);
    sig_expect = &in;
    trip_segv(&in, &out);
    report("segv", &out, &in);
    printf("handler ran %d, its fpstate: %s; it started with %s\n", sig_count, sig_fpstate, sig_entry);
    mprotect(page, 4096, PROT_NONE);
  }
  sig_expect = NULL;
  sig_count = 0;
  signal(SIGSEGV, SIG_DFL);
  munmap(page, 4096);
}

static void case_spin(void) {
  handle(SIGALRM, on_alarm, SA_RESTART);
  for (int i = 0; i < 3; i++) {
    randomize(&in, 30 + i);
    sig_expect = &in;
    xs_done = 0;
    timer_us(5000, 1000);
    trip_spin(&in, &out);
    timer_us(0, 0);
    report("spin", &out, &in);
    printf("handler ran: %s, its fpstate: %s; it started with %s\n", sig_count ? "yes" : "no", sig_fpstate,
           sig_entry);
    sig_count = 0;
  }
  sig_expect = NULL;
  signal(SIGALRM, SIG_DFL);
}

static void case_code(void) {
  unsigned char *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  code[0] = 0xb8; /* mov eax, imm32; ret */
  memset(code + 1, 0, 4);
  code[5] = 0xc3;
  ((int (*)(void))(void *)code)();
  xs_target = code;
  run("smc", trip_smc, 40);
  printf("smc: %ld wrong results\n", xs_ret);
  munmap(code, 4096);
  run("chain (first run)", trip_chain, 41);
  run("chain (chained)", trip_chain, 42);
  printf("chain: %llu blocks\n", (unsigned long long)xs_sum);
  run("ibl", trip_ibl, 43);
  run("ibl (again)", trip_ibl, 44);
  printf("ibl: sum %#llx\n", (unsigned long long)xs_sum);
}

/* Generated code: `blocks` blocks of `inc r14; jmp next`, then ret, in a
 * fresh mapping each round (with --cache-size small, translating them
 * flushes the code cache while the registers are live). */
static void case_jit(int rounds, int blocks) {
  int bad = 0;
  uint64_t sum = 0;
  for (int r = 0; r < rounds; r++) {
    size_t len = ((size_t)blocks * 8 + 4096) & ~(size_t)4095;
    unsigned char *code = mmap(NULL, len, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *p = code;
    for (int b = 0; b < blocks; b++) {
      static const unsigned char blk[8] = {0x49, 0xff, 0xc6, 0xe9, 0, 0, 0, 0};
      memcpy(p, blk, 8);
      p += 8;
    }
    *p = 0xc3;
    xs_target = code;
    randomize(&in, 100 + (uint64_t)r);
    trip_call(&in, &out);
    if (memcmp(&in, &out, sizeof in)) {
      if (bad++ < 3) report("jit", &out, &in);
    }
    sum += xs_sum;
    munmap(code, len);
  }
  printf("jit: %d rounds of %d blocks, %d with registers lost, sum %llu\n", rounds, blocks, bad,
         (unsigned long long)sum);
}

static void case_vzeroupper(void) {
  randomize(&in, 50);
  trip_vzeroupper(&in, &out);
  want = in;
  for (int i = 0; i < 16; i++) memset(&want.zmm[i][16], 0, 48);
  report("vzeroupper", &out, &want);
}

static void case_hot(void) {
  randomize(&in, 51);
  trip_hot(&in, &out);
  want = in;
  for (int j = 0; j < 32; j += 8) {
    uint64_t a, b;
    memcpy(&a, &want.zmm[1][j], 8);
    memcpy(&b, &want.zmm[2][j], 8);
    a += 200000 * b;
    memcpy(&want.zmm[1][j], &a, 8);
  }
  memset(&want.zmm[1][32], 0, 32); /* a VEX.256 write zeroes bits 256-511 */
  report("hot loops", &out, &want);
  printf("hot: sum %#llx\n", (unsigned long long)xs_sum);
}

static void case_clone(void) {
  static char stack[65536] __attribute__((aligned(16)));
  xs_child_stack = stack + sizeof stack;
  xs_child_done = 0;
  memset(&xs_child_regs, 0, sizeof xs_child_regs);
  run("clone (parent)", trip_clone, 60);
  while (!xs_child_done) sched_yield();
  usleep(10000); /* let the child's exit finish with its stack */
  report("clone (child)", &xs_child_regs, &in);
}

static void case_fork(void) {
  fflush(stdout);
  randomize(&in, 61);
  trip_fork(&in, &out);
  if (xs_ret == 0) {
    report("fork (child)", &out, &in);
    fflush(stdout);
    _exit(0);
  }
  waitpid((pid_t)xs_ret, NULL, 0);
  report("fork (parent)", &out, &in);
  memset(&xs_child_regs, 0, sizeof xs_child_regs);
  randomize(&in, 62);
  trip_vfork(&in, &out);
  waitpid((pid_t)xs_ret, NULL, 0);
  report("vfork (parent)", &out, &in);
  report("vfork (child)", &xs_child_regs, &in);
}

/* Threads making syscalls with their own registers while others do. */
static void *hammer(void *arg) {
  uintptr_t id = (uintptr_t)arg;
  static __thread struct xregs tin, tout;
  long bad = 0;
  for (int i = 0; i < 300; i++) {
    uint64_t seed = id * 1000003 + (uint64_t)i;
    /* prng_state is shared: derive the values without it */
    for (int r = 0; r < 32; r++)
      for (int j = 0; j < 64; j += 8) {
        uint64_t v = (seed + 1) * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)r << 32 | (uint64_t)j) * 0xbf58476d1ce4e5b9ULL;
        memcpy(&tin.zmm[r][j], &v, 8);
      }
    for (int k = 0; k < 8; k++) tin.k[k] = seed * 0x94d049bb133111ebULL + (uint64_t)k;
    tin.mxcsr = 0x1f80 | (uint32_t)(1 + id % 3) << 13 | 0x8040;
    tin.fcw = (uint16_t)(0x27f | (1 + id % 3) << 10);
    for (int r = 0; r < 8; r++) {
      uint64_t m = (seed * 0x9e3779b97f4a7c15ULL + (uint64_t)r) | 1ULL << 63;
      uint16_t e = (uint16_t)(0x3fff + r + (int)id);
      memcpy(tin.st[r], &m, 8);
      memcpy(tin.st[r] + 8, &e, 2);
    }
    if (!xs_have512) {
      for (int r = 0; r < 32; r++) memset(&tin.zmm[r][r < 16 ? 32 : 0], 0, r < 16 ? 32 : 64);
      memset(tin.k, 0, sizeof tin.k);
    }
    memset(&tout, 0, sizeof tout);
    (i & 1 ? trip_getpid : trip_nanosleep)(&tin, &tout);
    bad += memcmp(&tin, &tout, sizeof tin) != 0;
  }
  return (void *)bad;
}

static void case_threads(void) {
  pthread_t t[4];
  for (uintptr_t i = 0; i < 4; i++) pthread_create(&t[i], NULL, hammer, (void *)(i + 1));
  run("while threads run", trip_nanosleep, 70);
  for (int i = 0; i < 4; i++) {
    void *bad;
    pthread_join(t[i], &bad);
    printf("thread %d: %ld of 300 trips lost registers\n", i, (long)bad);
  }
  run("after pthread_join", trip_getpid, 71);
}

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "all";
  int ymm_only = argc > 2 && !strcmp(argv[2], "ymm");
  setvbuf(stdout, NULL, _IOLBF, 0);
  uint32_t r[4];
  cpuid2(1, 0, r);
  if (!(r[2] >> 27 & 1) || !(r[2] >> 28 & 1) || (xgetbv0() & 6) != 6) {
    printf("no AVX (CPUID.1:ECX %#x): skipped\n", r[2]);
    return 0;
  }
  uint32_t r7[4];
  cpuid2(7, 0, r7);
  /* AVX-512 F and BW (kmovq), with XCR0 enabling opmask and ZMM state */
  xs_have512 = !ymm_only && (r7[1] >> 16 & 1) && (r7[1] >> 30 & 1) && (xgetbv0() & 0xe6) == 0xe6;
  nzmm = xs_have512 ? 32 : 16;
  zbytes = xs_have512 ? 64 : 32;
  randomize(&xs_junk, 999); /* what handlers scribble */
  printf("registers: %s\n", xs_have512 ? "zmm0-31, k0-7, mxcsr" : "ymm0-15, mxcsr");
  int all = !strcmp(which, "all");
  if (all || !strcmp(which, "nothing")) run("nothing", trip_nothing, 0);
  if (all || !strcmp(which, "syscalls")) case_syscalls();
  if (all || !strcmp(which, "eintr")) case_eintr();
  if (all || !strcmp(which, "cpu")) case_cpu();
  if (all || !strcmp(which, "segv")) case_segv();
  if (all || !strcmp(which, "spin")) case_spin();
  if (all || !strcmp(which, "code")) case_code();
  if (all || !strcmp(which, "jit")) case_jit(argc > 3 ? atoi(argv[3]) : 8, argc > 4 ? atoi(argv[4]) : 2000);
  if (all || !strcmp(which, "vzeroupper")) case_vzeroupper();
  if (all || !strcmp(which, "hot")) case_hot();
  if (all || !strcmp(which, "clone")) case_clone();
  if (all || !strcmp(which, "fork")) case_fork();
  if (all || !strcmp(which, "threads")) case_threads();
  return 0;
}
