/* signal_xstate.c - the extended state (YMM, ZMM, opmask, MXCSR) in a
 * signal handler's frame, read and edited as a careful program does: the
 * components and their offsets come from the frame's fpx_sw_bytes
 * (xfeatures, xstate_size) and CPUID leaf 0xD, a component whose XSTATE_BV
 * bit is clear holds its init value, and an edit marks its component in
 * XSTATE_BV. Registers are loaded with known values in one asm block that
 * raises the signal (kill, or a faulting load) and stores them back after
 * the handler returned, so no compiled code touches them in between.
 *
 * Only register contents and checks are printed, never sizes or raw
 * XSTATE_BV: a native frame may carry components outside tern's CPU model
 * (PKRU, bit 9, on hosts with protection keys), which legitimately changes
 * the sizes and the masks without changing any register.
 *
 * Cases (argv[1]): usr1, segv (edits taking effect, by kill and by a
 * fault), init (components in their init state, edits with and without
 * their XSTATE_BV bit), bad (frames rt_sigreturn must refuse or accept, as
 * XRSTOR/FXRSTOR would), altstack (AT_MINSIGSTKSZ holds the frame; a
 * handler on an alternate stack of exactly that size runs), and sizes
 * (the raw xfeatures and sizes, for checks of tern's models against
 * fixed expectations rather than native, since a model may have fewer
 * components than the host). */
#define _GNU_SOURCE
#include <cpuid.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef AT_MINSIGSTKSZ
#define AT_MINSIGSTKSZ 51
#endif

enum { X87 = 1, SSE = 2, AVX = 4, OPMASK = 0x20, ZMM_HI256 = 0x40, HI16_ZMM = 0x80 };

/* The register file the asm blocks load and store. */
struct vstate {
  uint8_t zmm[32][64];
  uint64_t k[8];
  uint32_t mxcsr;
} __attribute__((aligned(64)));

static struct vstate in, out, seen;
static int level; /* 2: AVX-512 (F, BW), 1: AVX, 0: neither */
static uint32_t comp_off[8];
static uint64_t xfeatures_seen, bv_seen;
static int frame_ok;

static int has_level(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)) || !(c & (1u << 28)))
    return 0;
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if ((lo & 6) != 6)
    return 0;
  __cpuid_count(7, 0, a, b, c, d);
  if ((b & (1u << 16)) && (b & (1u << 30)) && (lo & 0xe0) == 0xe0)
    return 2;
  return 1;
}

/* ---- loading, trapping and storing the registers ---- */

#define L16(op, reg)                                                                 \
  op(0, reg) op(1, reg) op(2, reg) op(3, reg) op(4, reg) op(5, reg) op(6, reg) op(7, reg) \
      op(8, reg) op(9, reg) op(10, reg) op(11, reg) op(12, reg) op(13, reg) op(14, reg) op(15, reg)
#define H16(op, reg)                                                                        \
  op(16, reg) op(17, reg) op(18, reg) op(19, reg) op(20, reg) op(21, reg) op(22, reg) op(23, reg) \
      op(24, reg) op(25, reg) op(26, reg) op(27, reg) op(28, reg) op(29, reg) op(30, reg) op(31, reg)
#define K8(op) op(0) op(1) op(2) op(3) op(4) op(5) op(6) op(7)

#define LDZ(i, r) "vmovdqu64 " #i "*64(%%" r "), %%zmm" #i "\n\t"
#define STZ(i, r) "vmovdqu64 %%zmm" #i ", " #i "*64(%%" r ")\n\t"
#define LDY(i, r) "vmovdqu " #i "*64(%%" r "), %%ymm" #i "\n\t"
#define STY(i, r) "vmovdqu %%ymm" #i ", " #i "*64(%%" r ")\n\t"
#define LDK(i) "kmovq 2048+" #i "*8(%%r12), %%k" #i "\n\t"
#define STK(i) "kmovq %%k" #i ", 2048+" #i "*8(%%r13)\n\t"

/* How the asm raises the signal. */
#define KILL_SELF                                                              \
  "mov $39, %%eax\n\tsyscall\n\tmov %%eax, %%edi\n\tmov $10, %%esi\n\t"        \
  "mov $62, %%eax\n\tsyscall\n\t"
#define FAULT(tag) "xor %%ecx, %%ecx\n\tmov (%%rcx), %%rax\n\t.globl after_fault" tag "\nafter_fault" tag ":\n\t"
/* Puts AVX (and the AVX-512 upper parts of zmm0-15) in its init state. */
#define TO_INIT "vzeroupper\n\t"

#define CLOBBERS                                                                      \
  "rax", "rcx", "rdx", "rsi", "rdi", "r11", "r12", "r13", "memory", "xmm0", "xmm1", "xmm2", \
      "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",     \
      "xmm13", "xmm14", "xmm15"

#define RUN512(name, trap)                                                                     \
  __attribute__((noinline, noclone)) static void name(void) {                                                                     \
    __asm__ volatile("mov %0, %%r12\n\tmov %1, %%r13\n\t" L16(LDZ, "r12") H16(LDZ, "r12") K8(LDK) \
                     "ldmxcsr 2112(%%r12)\n\t" trap L16(STZ, "r13") H16(STZ, "r13") K8(STK)   \
                     "stmxcsr 2112(%%r13)\n\t"                                                \
                     "movl $0x1f80, 2116(%%r13)\n\tldmxcsr 2116(%%r13)\n\tvzeroupper\n\t"      \
                     :                                                                        \
                     : "r"(&in), "r"(&out)                                                     \
                     : CLOBBERS);                                                             \
  }
#define RUN256(name, trap)                                                                    \
  __attribute__((noinline, noclone)) static void name(void) {                                                                    \
    __asm__ volatile("mov %0, %%r12\n\tmov %1, %%r13\n\t" L16(LDY, "r12")                      \
                     "ldmxcsr 2112(%%r12)\n\t" trap L16(STY, "r13")                           \
                     "stmxcsr 2112(%%r13)\n\t"                                               \
                     "movl $0x1f80, 2116(%%r13)\n\tldmxcsr 2116(%%r13)\n\tvzeroupper\n\t"     \
                     :                                                                       \
                     : "r"(&in), "r"(&out)                                                    \
                     : CLOBBERS);                                                            \
  }

RUN512(kill512, KILL_SELF)
RUN512(fault512, FAULT("512"))
RUN512(init512, TO_INIT KILL_SELF)
RUN256(kill256, KILL_SELF)
RUN256(fault256, FAULT("256"))
RUN256(init256, TO_INIT KILL_SELF)

extern char after_fault512[], after_fault256[];

/* ---- reading and editing the frame ---- */

struct sw_bytes {
  uint32_t magic1, extended_size;
  uint64_t xfeatures;
  uint32_t xstate_size, padding[7];
};

#define MAGIC1 0x46505853u
#define MAGIC2 0x46505845u

static uint8_t *fp_of(void *ctx) { return (uint8_t *)((ucontext_t *)ctx)->uc_mcontext.fpregs; }
static struct sw_bytes *sw_of(uint8_t *fp) { return (struct sw_bytes *)(fp + 464); }
static uint64_t *bv_of(uint8_t *fp) { return (uint64_t *)(fp + 512); }

/* Component i's bytes in the frame if the frame has the component. */
static uint8_t *comp(uint8_t *fp, int i) {
  return (sw_of(fp)->xfeatures >> i & 1) ? fp + comp_off[i] : 0;
}

/* The register file as the frame holds it. */
static void read_frame(void *ctx, struct vstate *v) {
  uint8_t *fp = fp_of(ctx);
  struct sw_bytes *sw = sw_of(fp);
  uint64_t bv = *bv_of(fp);
  uint32_t magic2;
  memcpy(&magic2, fp + sw->xstate_size, 4);
  frame_ok = (((ucontext_t *)ctx)->uc_flags & 1) && sw->magic1 == MAGIC1 && magic2 == MAGIC2 &&
             sw->extended_size == sw->xstate_size + 4 && (uint64_t)fp % 64 == 0 &&
             (sw->xfeatures & 3) == 3 && (bv & ~sw->xfeatures) == 0;
  xfeatures_seen = sw->xfeatures;
  bv_seen = bv;
  memset(v, 0, sizeof *v);
  memcpy(&v->mxcsr, fp + 24, 4);
  for (int r = 0; r < 16; r++) {
    if (bv & SSE)
      memcpy(v->zmm[r], fp + 160 + 16 * r, 16);
    if ((bv & AVX) && comp(fp, 2))
      memcpy(v->zmm[r] + 16, comp(fp, 2) + 16 * r, 16);
    if ((bv & ZMM_HI256) && comp(fp, 6))
      memcpy(v->zmm[r] + 32, comp(fp, 6) + 32 * r, 32);
    if ((bv & HI16_ZMM) && comp(fp, 7))
      memcpy(v->zmm[16 + r], comp(fp, 7) + 64 * r, 64);
  }
  if ((bv & OPMASK) && comp(fp, 5))
    memcpy(v->k, comp(fp, 5), 64);
}

static void fill(uint8_t *p, int n, uint8_t seed) {
  for (int i = 0; i < n; i++)
    p[i] = (uint8_t)(seed * 31 + i * 7 + 1);
}

/* The edits a handler makes; `mark` sets the XSTATE_BV bit of each edited
 * component, as it must for a component that was in its init state. */
static void edit_frame(void *ctx, int mark) {
  uint8_t *fp = fp_of(ctx);
  uint64_t *bv = bv_of(fp);
  fill(fp + 160 + 16 * 5, 16, 0xe4); /* xmm5 */
  uint32_t mxcsr = 0x1f80 | (2 << 13); /* round up */
  memcpy(fp + 24, &mxcsr, 4);
  if (comp(fp, 2)) {
    fill(comp(fp, 2) + 16 * 1, 16, 0xe1); /* ymm1 upper half */
    if (mark)
      *bv |= AVX;
  }
  if (level == 2 && comp(fp, 5) && comp(fp, 6) && comp(fp, 7)) {
    uint64_t k3 = 0x1234567890abcdefull;
    memcpy(comp(fp, 5) + 8 * 3, &k3, 8);
    fill(comp(fp, 6) + 32 * 2, 32, 0xe2); /* zmm2 bits 511:256 */
    fill(comp(fp, 7) + 64 * 1, 64, 0xe3); /* zmm17 */
    if (mark)
      *bv |= OPMASK | ZMM_HI256 | HI16_ZMM;
  }
}

/* What the registers must hold after the handler's edits. */
static void expect_edits(struct vstate *v) {
  fill(v->zmm[5], 16, 0xe4);
  v->mxcsr = 0x1f80 | (2 << 13);
  fill(v->zmm[1] + 16, 16, 0xe1);
  if (level == 2) {
    v->k[3] = 0x1234567890abcdefull;
    fill(v->zmm[2] + 32, 32, 0xe2);
    fill(v->zmm[17], 64, 0xe3);
  }
}

static int regs(void) { return level == 2 ? 32 : 16; }
static int width(void) { return level == 2 ? 64 : 32; }

/* Registers of `a` that differ from `b` (only those the level has), on
 * one line. */
static void diff(const char *what, struct vstate *a, struct vstate *b) {
  int n = 0;
  printf("  %s:", what);
  for (int r = 0; r < regs(); r++)
    if (memcmp(a->zmm[r], b->zmm[r], width()))
      n += printf(" %s%d", level == 2 ? "zmm" : "ymm", r) > 0;
  if (level == 2)
    for (int k = 0; k < 8; k++)
      if (a->k[k] != b->k[k])
        n += printf(" k%d=%lx", k, (unsigned long)a->k[k]) > 0;
  if (a->mxcsr != b->mxcsr)
    n += printf(" mxcsr=%x", a->mxcsr) > 0;
  printf("%s\n", n ? " differ" : " same");
}

static void dump(const char *what, struct vstate *v) {
  printf("%s: mxcsr=%x\n", what, v->mxcsr);
  for (int r = 0; r < regs(); r++) {
    printf("  %d ", r);
    for (int i = width() - 1; i >= 0; i--)
      printf("%02x", v->zmm[r][i]);
    printf("\n");
  }
  if (level == 2)
    for (int k = 0; k < 8; k++)
      printf("  k%d=%lx\n", k, (unsigned long)v->k[k]);
}

static void seed_registers(void) {
  for (int r = 0; r < 32; r++)
    fill(in.zmm[r], 64, (uint8_t)r);
  for (int k = 0; k < 8; k++)
    in.k[k] = 0x0101010101010101ull * (k + 1) ^ 0xf0e0d0c0b0a09080ull;
  in.mxcsr = 0x1f80 | (1 << 13) | (1 << 15); /* round down, flush to zero */
}

static int edit_mark = 1;

static void handler(int sig, siginfo_t *si, void *ctx) {
  (void)si;
  read_frame(ctx, &seen);
  edit_frame(ctx, edit_mark);
  if (sig == SIGSEGV)
    ((ucontext_t *)ctx)->uc_mcontext.gregs[REG_RIP] = (greg_t)(level == 2 ? after_fault512 : after_fault256);
}

static void install(int sig, void (*h)(int, siginfo_t *, void *), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = h;
  sa.sa_flags = SA_SIGINFO | flags;
  sigaction(sig, &sa, 0);
}

static void run(void (*f512)(void), void (*f256)(void)) {
  memset(&out, 0, sizeof out);
  (level == 2 ? f512 : f256)();
}

/* SIGUSR1 by kill, or SIGSEGV by a faulting load: the frame holds every
 * register, the edits take effect, nothing else changes. */
static void case_edits(int segv) {
  seed_registers();
  install(segv ? SIGSEGV : SIGUSR1, handler, 0);
  if (segv)
    run(fault512, fault256);
  else
    run(kill512, kill256);
  printf("frame_ok=%d xfeatures&e7=%lx xstate_bv&e7=%lx\n", frame_ok,
         (unsigned long)(xfeatures_seen & 0xe7), (unsigned long)(bv_seen & 0xe7));
  diff("frame vs loaded", &seen, &in);
  struct vstate want = in;
  expect_edits(&want);
  diff("after return vs edited", &out, &want);
  dump("after", &out);
}

/* After vzeroupper the upper halves are in their init state: the frame
 * shows zeros; an edit without the XSTATE_BV bit is lost, with it kept. */
static void case_init(void) {
  seed_registers();
  install(SIGUSR1, handler, 0);
  for (edit_mark = 0; edit_mark <= 1; edit_mark++) {
    run(init512, init256);
    printf("mark=%d frame_ok=%d avx_in_use=%d\n", edit_mark, frame_ok, !!(bv_seen & AVX));
    struct vstate want = in;
    for (int r = 0; r < 16; r++)
      memset(want.zmm[r] + 16, 0, 48);
    diff("frame vs loaded", &seen, &want);
    dump("after", &out);
  }
}

/* ---- frames rt_sigreturn refuses or accepts ---- */

static int bad_mode;
static uint8_t copy_buf[8192] __attribute__((aligned(64)));

static void bad_handler(int sig, siginfo_t *si, void *ctx) {
  (void)sig;
  (void)si;
  ucontext_t *uc = ctx;
  uint8_t *fp = fp_of(ctx);
  struct sw_bytes *sw = sw_of(fp);
  uint32_t bad_mxcsr = 0x1f80 | (1u << 20);
  switch (bad_mode) {
  case 0: /* untouched */
    break;
  case 1: /* XCOMP_BV: XRSTOR faults */
    fp[512 + 10] = 1;
    break;
  case 2: /* header bytes 24..63 are not checked */
    fp[512 + 40] = 1;
    break;
  case 3: /* XSTATE_BV bit 3 (MPX, enabled on no current kernel) */
    *bv_of(fp) |= 8;
    break;
  case 4: /* reserved MXCSR bit */
    memcpy(fp + 24, &bad_mxcsr, 4);
    break;
  case 5: /* the same MXCSR is not loaded when neither SSE nor AVX is */
    memcpy(fp + 24, &bad_mxcsr, 4);
    sw->xfeatures &= ~(uint64_t)(SSE | AVX);
    break;
  case 6: /* SSE and AVX in their init state, MXCSR still loaded */
    *bv_of(fp) &= ~(uint64_t)(SSE | AVX);
    memcpy(fp + 24, &bad_mxcsr, 4);
    break;
  case 7: /* an xsave image that is not 64-byte aligned */
    memcpy(copy_buf + 16, fp, sw->extended_size);
    uc->uc_mcontext.fpregs = (void *)(copy_buf + 16);
    break;
  case 8: /* an aligned copy is fine */
    memcpy(copy_buf + 64, fp, sw->extended_size);
    uc->uc_mcontext.fpregs = (void *)(copy_buf + 64);
    break;
  case 9: /* no magic1: an FXSAVE image, the upper halves initialised */
    sw->magic1 = 0;
    break;
  case 10: /* an FXSAVE image 16-byte aligned is fine */
    memcpy(copy_buf + 16, fp, sw->extended_size);
    ((struct sw_bytes *)(copy_buf + 16 + 464))->magic1 = 0;
    uc->uc_mcontext.fpregs = (void *)(copy_buf + 16);
    break;
  case 11: /* a shorter xstate_size without its magic2: FXSAVE image */
    sw->xstate_size = 640;
    break;
  case 12: /* NULL: the init state */
    uc->uc_mcontext.fpregs = 0;
    break;
  case 13: /* xfeatures 0: nothing restored, everything initialised */
    sw->xfeatures = 0;
    break;
  case 14: /* components outside xfeatures are initialised even if in XSTATE_BV */
    sw->xfeatures &= ~(uint64_t)(AVX | OPMASK);
    break;
  }
}

static void case_bad(void) {
  seed_registers();
  for (bad_mode = 0; bad_mode <= 14; bad_mode++) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      install(SIGUSR1, bad_handler, 0);
      run(kill512, kill256);
      struct vstate init;
      memset(&init, 0, sizeof init);
      init.mxcsr = 0x1f80;
      printf("mode %d returned\n", bad_mode);
      diff("after vs loaded", &out, &in);
      diff("after vs init", &out, &init);
      fflush(stdout);
      _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st))
      printf("mode %d: killed by signal %d\n", bad_mode, WTERMSIG(st));
    else
      printf("mode %d: exit %d\n", bad_mode, WEXITSTATUS(st));
  }
}

/* ---- AT_MINSIGSTKSZ ---- */

static uint64_t frame_lo, frame_hi;

static void alt_handler(int sig, siginfo_t *si, void *ctx) {
  (void)sig;
  (void)si;
  uint8_t *fp = fp_of(ctx);
  frame_lo = (uint64_t)ctx - 8; /* the restorer's slot */
  frame_hi = (uint64_t)fp + sw_of(fp)->extended_size;
}

static void case_altstack(void) {
  /* MINSIGSTKSZ is sysconf(_SC_MINSIGSTKSZ) with _GNU_SOURCE: AT_MINSIGSTKSZ,
   * but at least the 2048 sigaltstack requires. */
  uint64_t at = getauxval(AT_MINSIGSTKSZ), min = MINSIGSTKSZ;
  printf("AT_MINSIGSTKSZ given: %d, MINSIGSTKSZ >= it: %d\n", at != 0, min >= at);
  /* Room below the stack for the handler's own frames. */
  static uint8_t area[65536] __attribute__((aligned(64)));
  seed_registers();
  for (int off = 0; off < 64; off += 8) {
    stack_t ss = {.ss_sp = area + 32768 + off, .ss_size = min, .ss_flags = 0};
    if (sigaltstack(&ss, 0))
      perror("sigaltstack");
    install(SIGUSR1, alt_handler, SA_ONSTACK);
    run(kill512, kill256);
    uint64_t lo = (uint64_t)ss.ss_sp, hi = lo + min;
    printf("stack +%d: frame inside the stack: %d, within AT_MINSIGSTKSZ of the top: %d\n", off,
           frame_lo >= lo && frame_hi <= hi, hi - frame_lo <= at);
  }
  /* The legacy constant 2048: whether the frame fits depends on the
   * state size, the same natively and under tern's model. */
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    stack_t ss = {.ss_sp = area + 32768, .ss_size = 2048, .ss_flags = 0};
    sigaltstack(&ss, 0);
    install(SIGUSR1, alt_handler, SA_ONSTACK);
    run(kill512, kill256);
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  printf("2048-byte stack: %s %d (frame fits: %d)\n", WIFSIGNALED(st) ? "signal" : "exit",
         WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), at <= 2048);
}

static uint64_t sizes_xfeatures, sizes_xstate, sizes_extended;

static void sizes_handler(int sig, siginfo_t *si, void *ctx) {
  (void)sig;
  (void)si;
  uint8_t *fp = fp_of(ctx);
  sizes_xfeatures = sw_of(fp)->xfeatures;
  sizes_xstate = sw_of(fp)->xstate_size;
  sizes_extended = sw_of(fp)->extended_size;
  alt_handler(sig, si, ctx);
}

/* The frame's raw sizes on an alternate stack of AT_MINSIGSTKSZ bytes. */
static void case_sizes(void) {
  static uint8_t area[65536] __attribute__((aligned(64)));
  uint64_t min = getauxval(AT_MINSIGSTKSZ), size = MINSIGSTKSZ;
  stack_t ss = {.ss_sp = area + 32768, .ss_size = size, .ss_flags = 0};
  if (sigaltstack(&ss, 0))
    perror("sigaltstack");
  install(SIGUSR1, sizes_handler, SA_ONSTACK);
  raise(SIGUSR1);
  uint64_t lo = (uint64_t)ss.ss_sp, hi = lo + size;
  printf("xfeatures=%lx xstate_size=%lu extended_size=%lu at_minsigstksz=%lu fits=%d span<=at_minsigstksz=%d\n",
         (unsigned long)sizes_xfeatures, (unsigned long)sizes_xstate, (unsigned long)sizes_extended,
         (unsigned long)min, frame_lo >= lo && frame_hi <= hi, hi - frame_lo <= min);
}

int main(int argc, char **argv) {
  setvbuf(stdout, 0, _IOLBF, 0);
  level = has_level();
  printf("level %d\n", level);
  for (int i = 2; i < 8; i++) {
    unsigned a, b, c, d;
    __cpuid_count(0xd, i, a, b, c, d);
    comp_off[i] = b;
  }
  const char *c = argc > 1 ? argv[1] : "";
  if (!strcmp(c, "sizes")) {
    case_sizes();
    return 0;
  }
  if (level == 0) {
    printf("skipped: no AVX\n");
    return 0;
  }
  if (!strcmp(c, "usr1"))
    case_edits(0);
  else if (!strcmp(c, "segv"))
    case_edits(1);
  else if (!strcmp(c, "init"))
    case_init();
  else if (!strcmp(c, "bad"))
    case_bad();
  else if (!strcmp(c, "altstack"))
    case_altstack();
  else {
    fprintf(stderr, "unknown case %s\n", c);
    return 2;
  }
  return 0;
}
