/* insn_glue_avx.c - the VEX and EVEX instructions tern rewrites rather than
 * copies (insn_glue.c's companion): FS- and GS-relative operands (TLS
 * through fs:, a buffer through gs:) with and without base and index
 * registers, VSIB gathers and scatters through fs:, masked loads and stores
 * ({k}, {z}, vmaskmov, vpmaskmov), a four-operand blend, broadcasts, BMI2
 * with fs: operands and many live registers, RIP-relative constants and
 * arrays (displacements EVEX compresses as disp8*N once tern gives them a
 * base register); and gathers, scatters and masked accesses that fault: the
 * guest handler sees the faulting instruction's RIP, the fault address, the
 * general registers and the partially updated destination and mask, and
 * the instruction completes when the handler maps the page. Each check
 * prints a line; the native run is the oracle. A host without AVX2/BMI2 or
 * AVX-512 prints that the part is skipped and why. */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define AVX2 __attribute__((target("avx2,fma,bmi,bmi2"), noinline))
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq"), noinline))

static __thread uint32_t tls_v[128] __attribute__((aligned(64)));
static uint32_t gs_buf[128] __attribute__((aligned(64)));
/* used: only the asm reads it */
static const uint32_t rip_tab[64] __attribute__((aligned(64), used)) = {
    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x100,
    0x80000001, 0x7fffffff, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47,
    53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127,
    0xdeadbeef, 0xcafef00d, 0xfeedface, 0x12345678, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0xffffffff, 0x80};
static uint32_t rip_out[64] __attribute__((aligned(64), used));

static uint64_t xs = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void) {
  xs ^= xs << 13;
  xs ^= xs >> 7;
  xs ^= xs << 17;
  return xs;
}

static uint64_t tp(void) {
  uint64_t t;
  __asm__ volatile("mov %%fs:0, %0" : "=r"(t));
  return t;
}

/* Offset of `p` from the FS base, for fs:-relative operands. */
static uint64_t fs_off(const void *p) { return (uint64_t)p - tp(); }

static void fill_tls(void) {
  for (int i = 0; i < 128; i++) tls_v[i] = (uint32_t)rnd();
  for (int i = 0; i < 128; i++) gs_buf[i] = (uint32_t)rnd();
}

static void show(const char *what, const void *p, int n32) {
  const uint32_t *v = p;
  printf("%s:", what);
  for (int i = 0; i < n32; i++) printf(" %08x", v[i]);
  printf("\n");
}

static void sum_tls(const char *what) {
  uint64_t s = 0;
  for (int i = 0; i < 128; i++) s = s * 1000003 + tls_v[i];
  printf("%s tls %016llx\n", what, (unsigned long long)s);
}

/* ---- AVX2 / BMI2 with fs:, gs: and RIP-relative operands ---- */

AVX2 static void avx2_fs(void) {
  fill_tls();
  uint64_t o = fs_off(tls_v), i2 = 2;
  uint32_t out[8] __attribute__((aligned(32)));
  __asm__ volatile("vmovdqu %%fs:(%[o]), %%ymm0\n\t"
                   "vpaddd %%fs:32(%[o]), %%ymm0, %%ymm1\n\t"
                   "vmovdqu %%ymm1, %%fs:64(%[o],%[i],8)\n\t"
                   "vmovdqu %%ymm1, %[out]"
                   : [out] "=m"(out)
                   : [o] "r"(o), [i] "r"(i2)
                   : "xmm0", "xmm1", "memory");
  show("vpaddd fs", out, 8);
  sum_tls("vmovdqu fs store");
  /* four operands: vblendvps with an fs: source and a register selector */
  __asm__ volatile("vmovdqu %%fs:96(%[o]), %%ymm3\n\t"
                   "vmovdqu %%fs:128(%[o]), %%ymm1\n\t"
                   "vblendvps %%ymm3, %%fs:(%[o],%[i],4), %%ymm1, %%ymm0\n\t"
                   "vmovdqu %%ymm0, %[out]"
                   : [out] "=m"(out)
                   : [o] "r"(o), [i] "r"(i2)
                   : "xmm0", "xmm1", "xmm3", "memory");
  show("vblendvps fs", out, 8);
  /* masked loads and stores: vmaskmovps, vpmaskmovd, vpmaskmovq */
  __asm__ volatile("vmovdqu %%fs:160(%[o]), %%ymm2\n\t"
                   "vmaskmovps %%fs:(%[o]), %%ymm2, %%ymm0\n\t"
                   "vpmaskmovd %%ymm0, %%ymm2, %%fs:256(%[o])\n\t"
                   "vpmaskmovq %%fs:64(%[o],%[i],8), %%ymm2, %%ymm1\n\t"
                   "vpmaskmovq %%ymm1, %%ymm2, %%fs:288(%[o])\n\t"
                   "vmaskmovpd %%ymm0, %%ymm2, %%fs:320(%[o])\n\t"
                   "vmovdqu %%ymm1, %[out]"
                   : [out] "=m"(out)
                   : [o] "r"(o), [i] "r"(i2)
                   : "xmm0", "xmm1", "xmm2", "memory");
  show("vpmaskmovq fs", out, 8);
  sum_tls("maskmov fs stores");
  /* gathers: fs: with a base and a vector index, and fs:tpoff with none */
  uint32_t idx[8] = {0, 7, 3, 100, 127, 64, 1, 2};
  int32_t mask[8] = {-1, -1, 0, -1, -1, 0, -1, -1};
  uint32_t mout[8];
  __asm__ volatile("vmovdqu %[idx], %%ymm1\n\t"
                   "vmovdqu %[mask], %%ymm2\n\t"
                   "vpcmpeqd %%ymm0, %%ymm0, %%ymm0\n\t"
                   "vpgatherdd %%ymm2, %%fs:(%[o],%%ymm1,4), %%ymm0\n\t"
                   "vmovdqu %%ymm0, %[out]\n\t"
                   "vmovdqu %%ymm2, %[mout]"
                   : [out] "=m"(out), [mout] "=m"(mout)
                   : [o] "r"(o), [idx] "m"(idx), [mask] "m"(mask)
                   : "xmm0", "xmm1", "xmm2", "memory");
  show("vpgatherdd fs", out, 8);
  show("vpgatherdd mask", mout, 8);
  __asm__ volatile("vmovdqu %[idx], %%xmm1\n\t"
                   "vpcmpeqd %%ymm2, %%ymm2, %%ymm2\n\t"
                   "vpxor %%ymm0, %%ymm0, %%ymm0\n\t"
                   "vgatherdpd %%ymm2, %%fs:tls_v@tpoff+8(,%%xmm1,8), %%ymm0\n\t"
                   "vmovdqu %%ymm0, %[out]"
                   : [out] "=m"(out)
                   : [idx] "m"(idx)
                   : "xmm0", "xmm1", "xmm2", "memory");
  show("vgatherdpd fs tpoff", out, 8);
  uint64_t qidx[4] = {3, 0, 60, 17};
  __asm__ volatile("vmovdqu %[idx], %%ymm4\n\t"
                   "vpcmpeqq %%ymm5, %%ymm5, %%ymm5\n\t"
                   "vpxor %%ymm3, %%ymm3, %%ymm3\n\t"
                   "vpgatherqq %%ymm5, %%gs:16(,%%ymm4,8), %%ymm3\n\t"
                   "vmovdqu %%ymm3, %[out]"
                   : [out] "=m"(out)
                   : [idx] "m"(qidx)
                   : "xmm3", "xmm4", "xmm5", "memory");
  show("vpgatherqq gs", out, 8);
  /* BMI2 with fs: operands, many registers live (the scratch register
   * must be none of them, nor mulx's implicit rdx) */
  uint64_t r[8];
  uint64_t a = rnd(), b = rnd(), c = rnd() | 1, d = rnd();
  __asm__ volatile("mulx %%fs:(%[o]), %%r8, %%r9\n\t"
                   "shlx %[b], %%fs:8(%[o],%[i],8), %%r10\n\t"
                   "sarx %[c], %%fs:16(%[o]), %%r11\n\t"
                   "mov %%r8, 0(%[r])\n\tmov %%r9, 8(%[r])\n\tmov %%r10, 16(%[r])\n\tmov %%r11, 24(%[r])\n\t"
                   "pdep %%fs:24(%[o]), %[a], %%r8\n\t"
                   "pext %%fs:32(%[o],%[i],4), %[b], %%r9\n\t"
                   "bzhi %[c], %%fs:40(%[o]), %%r10\n\t"
                   "rorx $13, %%fs:48(%[o]), %%r11\n\t"
                   "andn %%fs:56(%[o]), %[a], %%rbx\n\t"
                   "mov %%r8, 32(%[r])\n\tmov %%r9, 40(%[r])\n\tmov %%r10, 48(%[r])\n\t"
                   "add %%r11, %%rbx\n\tmov %%rbx, 56(%[r])"
                   :
                   : [o] "S"(o), [i] "D"(i2), [a] "a"(a), [b] "c"(b), [c] "r"(c), "d"(d), [r] "r"(r)
                   : "rbx", "r8", "r9", "r10", "r11", "memory", "cc");
  show("bmi2 fs", r, 16);
  /* RIP-relative VEX operands */
  __asm__ volatile("vmovdqa rip_tab+32(%%rip), %%ymm0\n\t"
                   "vpaddd rip_tab+64(%%rip), %%ymm0, %%ymm1\n\t"
                   "vblendvps %%ymm1, rip_tab+96(%%rip), %%ymm0, %%ymm2\n\t"
                   "vpmaskmovd %%ymm2, %%ymm1, rip_out+32(%%rip)\n\t"
                   "vpbroadcastd rip_tab+12(%%rip), %%ymm3\n\t"
                   "vfmadd231ps rip_tab+128(%%rip), %%ymm3, %%ymm2\n\t"
                   "vmovdqu %%ymm2, %[out]"
                   : [out] "=m"(out)
                   :
                   : "xmm0", "xmm1", "xmm2", "xmm3", "memory");
  show("vex rip", out, 8);
  show("vex rip store", rip_out + 8, 8);
  uint64_t lo, hi, sh;
  __asm__ volatile("mulx rip_tab+64(%%rip), %0, %1\n\tshlx %3, rip_tab+8(%%rip), %2"
                   : "=&r"(lo), "=&r"(hi), "=&r"(sh)
                   : "r"(5ul), "d"(0x123456789abcdefull));
  printf("bmi2 rip %016llx %016llx %016llx\n", (unsigned long long)lo, (unsigned long long)hi,
         (unsigned long long)sh);
  __asm__ volatile("vzeroupper");
}

/* ---- AVX-512 with fs: and RIP-relative operands ---- */

AVX512 static void avx512_fs(void) {
  fill_tls();
  uint64_t o = fs_off(tls_v), i3 = 3;
  uint32_t out[16] __attribute__((aligned(64)));
  uint16_t k;
  /* disp8*N: 64(o) is disp8 1 natively (N = 64) */
  __asm__ volatile("vmovdqu64 %%fs:64(%[o]), %%zmm0\n\t"
                   "vpaddd %%fs:(%[o]), %%zmm0, %%zmm1\n\t"
                   "vmovdqu32 %%zmm1, %%fs:256(%[o])\n\t"
                   "vmovdqu32 %%zmm1, %[out]"
                   : [out] "=m"(out)
                   : [o] "r"(o)
                   : "xmm0", "xmm1", "memory");
  show("evex fs disp8*64", out, 16);
  /* masked {k} and {z} loads, broadcast, an index and no base */
  __asm__ volatile("mov $0xa5c3, %%eax\n\tkmovw %%eax, %%k1\n\t"
                   "mov $0x0ff0, %%eax\n\tkmovw %%eax, %%k2\n\t"
                   "vmovdqu32 %%fs:4(%[o]), %%zmm1%{%%k1%}%{z%}\n\t"
                   "vpaddd %%fs:8(%[o])%{1to16%}, %%zmm1, %%zmm1%{%%k2%}\n\t"
                   "vpaddd %%fs:tls_v@tpoff(,%[i],4)%{1to16%}, %%zmm1, %%zmm2\n\t"
                   "vpsubd %%fs:tls_v@tpoff+0x40(,%[i],8), %%zmm2, %%zmm2%{%%k1%}\n\t"
                   "vmovdqu32 %%zmm2, %[out]"
                   : [out] "=m"(out)
                   : [o] "r"(o), [i] "r"(i3)
                   : "rax", "xmm1", "xmm2", "k1", "k2", "memory");
  show("evex fs masked", out, 16);
  /* masked stores, VL forms with a high register (EVEX only) */
  __asm__ volatile("mov $0x3c3c, %%eax\n\tkmovw %%eax, %%k3\n\t"
                   "vmovdqu32 %%fs:(%[o]), %%zmm4\n\t"
                   "vmovdqu32 %%zmm4, %%fs:320(%[o])%{%%k3%}\n\t"
                   "vmovdqu32 %%fs:32(%[o]), %%ymm17\n\t"
                   "vmovdqu32 %%ymm17, %%fs:384(%[o],%[i],8)%{%%k3%}\n\t"
                   "vmovdqu64 %%fs:40(%[o]), %%xmm18%{%%k3%}%{z%}\n\t"
                   "vmovdqu64 %%xmm18, %%fs:448(%[o])\n\t"
                   "vpbroadcastq %%fs:16(%[o]), %%zmm19%{%%k3%}%{z%}\n\t"
                   "vmovdqu64 %%zmm19, %[out]"
                   : [out] "=m"(out)
                   : [o] "r"(o), [i] "r"(i3)
                   : "rax", "xmm4", "xmm17", "xmm18", "xmm19", "k3", "memory");
  show("evex fs vl", out, 16);
  sum_tls("evex fs stores");
  /* gather and scatter through fs: with a mask */
  uint32_t idx[16] = {0, 15, 3, 100, 127, 64, 1, 2, 9, 8, 7, 6, 5, 4, 33, 90};
  __asm__ volatile("vmovdqu32 %[idx], %%zmm1\n\t"
                   "mov $0xbeef, %%eax\n\tkmovw %%eax, %%k1\n\t"
                   "vpternlogd $0xff, %%zmm0, %%zmm0, %%zmm0\n\t"
                   "vpgatherdd %%fs:0x40(%[o],%%zmm1,4), %%zmm0%{%%k1%}\n\t"
                   "kmovw %%k1, %%eax\n\tmov %%ax, %[k]\n\t"
                   "vmovdqu32 %%zmm0, %[out]\n\t"
                   "mov $0x7777, %%eax\n\tkmovw %%eax, %%k2\n\t"
                   "vpscatterdd %%zmm0, %%fs:0x100(%[o],%%zmm1,1)%{%%k2%}"
                   : [out] "=m"(out), [k] "=m"(k)
                   : [o] "r"(o), [idx] "m"(idx)
                   : "rax", "xmm0", "xmm1", "k1", "k2", "memory");
  show("vpgatherdd zmm fs", out, 16);
  printf("gather mask after %04x\n", k);
  sum_tls("vpscatterdd fs");
  uint64_t qidx[8] = {1, 5, 9, 13, 2, 6, 10, 14};
  __asm__ volatile("vmovdqu64 %[idx], %%zmm6\n\t"
                   "kxnorw %%k0, %%k0, %%k4\n\t"
                   "vpxorq %%zmm7, %%zmm7, %%zmm7\n\t"
                   "vpgatherqq %%gs:8(,%%zmm6,8), %%zmm7%{%%k4%}\n\t"
                   "kxnorw %%k0, %%k0, %%k5\n\t"
                   "vpscatterqq %%zmm7, %%gs:0x100(,%%zmm6,8)%{%%k5%}\n\t"
                   "vmovdqu64 %%zmm7, %[out]"
                   : [out] "=m"(out)
                   : [idx] "m"(qidx)
                   : "xmm6", "xmm7", "k4", "k5", "memory");
  show("vpgatherqq zmm gs", out, 16);
  show("vpscatterqq gs", gs_buf + 64, 32);
  /* RIP-relative EVEX operands */
  __asm__ volatile("mov $0x5a5a, %%eax\n\tkmovw %%eax, %%k1\n\t"
                   "vmovdqa32 rip_tab+64(%%rip), %%zmm0\n\t"
                   "vpaddd rip_tab+4(%%rip)%{1to16%}, %%zmm0, %%zmm1\n\t"
                   "vmovdqu32 rip_tab+128(%%rip), %%zmm1%{%%k1%}\n\t"
                   "vpmulld rip_tab+192(%%rip), %%zmm1, %%zmm2%{%%k1%}%{z%}\n\t"
                   "vmovdqu32 %%zmm2, rip_out+64(%%rip)%{%%k1%}\n\t"
                   "vmovdqu32 %%zmm1, rip_out+128(%%rip)\n\t"
                   "vpbroadcastq rip_tab+8(%%rip), %%ymm20\n\t"
                   "vmovdqu64 %%ymm20, rip_out+192(%%rip)"
                   :
                   :
                   : "rax", "xmm0", "xmm1", "xmm2", "xmm20", "k1", "memory");
  show("evex rip", rip_out + 16, 48);
  __asm__ volatile("vzeroupper");
}

/* ---- faults: precise state in the guest handler ---- */

static char *region; /* two pages, the second PROT_NONE until a fault */
static volatile uint64_t fault_at, fault_rip, fault_addr, fault_regs[4], fault_rdi;
static volatile int faults;
static uint8_t fault_xmm[2][16], fault_hi[2][16], fault_k[2][8];
static volatile int have_hi, have_k;

enum { XFEATURE_AVX = 2, XFEATURE_OPMASK = 5 };

/* The offset of xsave component `i` in the standard format (CPUID 0xD). */
static uint32_t xoff(int i) {
  uint32_t a, b, c, d;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0xd), "c"(i));
  return b;
}

static void on_segv(int sig, siginfo_t *si, void *ctx) {
  (void)sig;
  ucontext_t *uc = ctx;
  faults++;
  fault_rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP] - fault_at;
  fault_addr = (uint64_t)si->si_addr - (uint64_t)region;
  fault_regs[0] = (uint64_t)uc->uc_mcontext.gregs[REG_RAX];
  fault_regs[1] = (uint64_t)uc->uc_mcontext.gregs[REG_RCX];
  fault_regs[2] = (uint64_t)uc->uc_mcontext.gregs[REG_RDX];
  fault_regs[3] = (uint64_t)uc->uc_mcontext.gregs[REG_R8];
  fault_rdi = (uint64_t)uc->uc_mcontext.gregs[REG_RDI];
  const uint8_t *fp = (const uint8_t *)uc->uc_mcontext.fpregs;
  memcpy(fault_xmm[0], fp + 160 + 0 * 16, 16); /* xmm0: destination */
  memcpy(fault_xmm[1], fp + 160 + 2 * 16, 16); /* xmm2: VEX mask */
  uint32_t magic1;
  uint64_t xfeatures, bv;
  memcpy(&magic1, fp + 464, 4);
  memcpy(&xfeatures, fp + 464 + 8, 8);
  memcpy(&bv, fp + 512, 8);
  have_hi = magic1 == 0x46505853 && (xfeatures >> XFEATURE_AVX & 1);
  have_k = magic1 == 0x46505853 && (xfeatures >> XFEATURE_OPMASK & 1);
  memset(fault_hi, 0, sizeof fault_hi);
  memset(fault_k, 0, sizeof fault_k);
  if (have_hi && (bv >> XFEATURE_AVX & 1)) {
    memcpy(fault_hi[0], fp + xoff(XFEATURE_AVX) + 0 * 16, 16);
    memcpy(fault_hi[1], fp + xoff(XFEATURE_AVX) + 2 * 16, 16);
  }
  if (have_k && (bv >> XFEATURE_OPMASK & 1)) {
    memcpy(fault_k[0], fp + xoff(XFEATURE_OPMASK) + 1 * 8, 8);
    memcpy(fault_k[1], fp + xoff(XFEATURE_OPMASK) + 2 * 8, 8);
  }
  /* Map the page; the instruction restarts from its partial state. */
  mprotect(region + 4096, 4096, PROT_READ | PROT_WRITE);
  for (int i = 0; i < 1024; i++) ((uint32_t *)(region + 4096))[i] = 0x50000000u + (uint32_t)i;
}

static void arm(void) {
  mprotect(region + 4096, 4096, PROT_NONE);
  for (int i = 0; i < 1024; i++) ((uint32_t *)region)[i] = 0x10000000u + (uint32_t)i;
  faults = 0;
}

static void report(const char *what, int hi, int k) {
  if (!faults) {
    printf("%s: no fault\n", what);
    return;
  }
  printf("%s: faults %d rip +%llu addr %+lld regs %llx %llx %llx %llx\n", what, faults,
         (unsigned long long)fault_rip, (long long)fault_addr - 4096, (unsigned long long)fault_regs[0],
         (unsigned long long)fault_regs[1], (unsigned long long)fault_regs[2],
         (unsigned long long)fault_regs[3]);
  /* xmm2/ymm2 hold the mask of VEX gathers and masked moves only */
  show("  xmm0 at fault", fault_xmm[0], 4);
  if (!k) show("  xmm2 at fault", fault_xmm[1], 4);
  if (hi) {
    if (have_hi) {
      show("  ymm0 hi at fault", fault_hi[0], 4);
      if (!k) show("  ymm2 hi at fault", fault_hi[1], 4);
    } else {
      printf("  no AVX state in the signal frame\n");
    }
  }
  if (k) {
    if (have_k) {
      show("  k1 k2 at fault", fault_k, 4);
    } else {
      printf("  no opmask state in the signal frame\n");
    }
  }
}

/* Loads the fault site's address into fault_at right before it. */
#define SITE "lea 1f(%%rip), %%r8\n\tmov %%r8, fault_at(%%rip)\n\tmov $0x88, %%r8d\n1:\t"

AVX2 static void avx2_faults(void) {
  uint64_t o = fs_off(region);
  uint32_t out[8], m[8];
  /* xmm gather through fs: element 2 is on the unmapped page */
  uint32_t idx4[4] = {3, 1020, 1024 + 5, 7};
  arm();
  __asm__ volatile("vmovdqu %[idx], %%xmm1\n\t"
                   "vpcmpeqd %%xmm2, %%xmm2, %%xmm2\n\t"
                   "vpxor %%xmm0, %%xmm0, %%xmm0\n\t"
                   "mov $0x1111, %%eax\n\tmov $0x2222, %%ecx\n\tmov $0x3333, %%edx\n\t" SITE
                   "vpgatherdd %%xmm2, %%fs:(%[o],%%xmm1,4), %%xmm0\n\t"
                   "vmovdqu %%xmm0, %[out]\n\tvmovdqu %%xmm2, %[m]"
                   : [out] "=m"(out), [m] "=m"(m)
                   : [o] "S"(o), [idx] "m"(idx4)
                   : "rax", "rcx", "rdx", "r8", "xmm0", "xmm1", "xmm2", "memory");
  report("vpgatherdd xmm fs fault", 0, 0);
  show("  after", out, 4);
  show("  mask after", m, 4);
  /* ymm gather, RIP-free base register: elements 5 and 6 unmapped */
  uint32_t idx8[8] = {0, 1, 2, 3, 4, 1024, 1025, 9};
  arm();
  __asm__ volatile("vmovdqu %[idx], %%ymm1\n\t"
                   "vpcmpeqd %%ymm2, %%ymm2, %%ymm2\n\t"
                   "vpxor %%ymm0, %%ymm0, %%ymm0\n\t"
                   "mov $0x1111, %%eax\n\tmov $0x2222, %%ecx\n\tmov $0x3333, %%edx\n\t" SITE
                   "vpgatherdd %%ymm2, %%fs:(%[o],%%ymm1,4), %%ymm0\n\t"
                   "vmovdqu %%ymm0, %[out]\n\tvmovdqu %%ymm2, %[m]"
                   : [out] "=m"(out), [m] "=m"(m)
                   : [o] "S"(o), [idx] "m"(idx8)
                   : "rax", "rcx", "rdx", "r8", "xmm0", "xmm1", "xmm2", "memory");
  report("vpgatherdd ymm fs fault", 1, 0);
  show("  after", out, 8);
  show("  mask after", m, 8);
  /* vmaskmovps store across the page end: masked-off elements there
   * do not fault, a masked-on one does */
  const int32_t mask_ok[8] = {-1, -1, -1, -1, 0, 0, 0, 0}, mask_bad[8] = {-1, 0, -1, 0, 0, 0, -1, 0};
  for (int t = 0; t < 2; t++) {
    const int32_t(*mk)[8] = t ? &mask_bad : &mask_ok;
    arm();
    __asm__ volatile("vmovdqu %[mk], %%ymm2\n\t"
                     "vpcmpeqd %%ymm0, %%ymm0, %%ymm0\n\t"
                     "mov $0x1111, %%eax\n\tmov $0x2222, %%ecx\n\tmov $0x3333, %%edx\n\t" SITE
                     "vmaskmovps %%ymm0, %%ymm2, %%fs:4080(%[o])"
                     :
                     : [o] "S"(o), [mk] "m"(*mk)
                     : "rax", "rcx", "rdx", "r8", "xmm0", "xmm2", "memory");
    report(t ? "vmaskmovps store fault" : "vmaskmovps store masked off", 0, 0);
    show("  page end", region + 4080, 4);
  }
  /* vpmaskmovd load, masked-off elements on the unmapped page */
  arm();
  __asm__ volatile("vmovdqu %[mk], %%ymm2\n\t"
                   "mov $0x1111, %%eax\n\tmov $0x2222, %%ecx\n\tmov $0x3333, %%edx\n\t" SITE
                   "vpmaskmovd %%fs:4080(%[o]), %%ymm2, %%ymm0\n\t"
                   "vmovdqu %%ymm0, %[out]"
                   : [out] "=m"(out)
                   : [o] "S"(o), [mk] "m"(mask_ok)
                   : "rax", "rcx", "rdx", "r8", "xmm0", "xmm2", "memory");
  report("vpmaskmovd load masked off", 0, 0);
  show("  after", out, 8);
  /* maskmovdqu through fs: and vmaskmovdqu through gs: (implicit rdi),
   * then one that faults at the page end: the handler sees guest rdi */
  for (int t = 0; t < 3; t++) {
    uint64_t at = t == 1 ? 40 : o + (t ? 4088 : 16);
    arm();
    memset(gs_buf + 8, 0, 32);
    __asm__ volatile("vmovdqu %[mk], %%xmm2\n\t"
                     "vmovdqu %[src], %%xmm1\n\tvpxor %%xmm0, %%xmm0, %%xmm0\n\t"
                     "cmp $1, %[t]\n\tje 2f\n\t"
                     "mov $0x1111, %%eax\n\tmov $0x2222, %%ecx\n\tmov $0x3333, %%edx\n\t" SITE
                     "fs maskmovdqu %%xmm2, %%xmm1\n\tjmp 3f\n"
                     "2:\tgs vmaskmovdqu %%xmm2, %%xmm1\n"
                     "3:"
                     :
                     : "D"(at), [t] "r"(t), [mk] "m"(mask_bad), [src] "m"(idx8)
                     : "rax", "rcx", "rdx", "r8", "xmm0", "xmm1", "xmm2", "memory", "cc");
    report(t == 0 ? "maskmovdqu fs" : t == 1 ? "vmaskmovdqu gs" : "maskmovdqu fs fault", 0, 0);
    if (faults) printf("  rdi at fault: offset %lld\n", (long long)(fault_rdi - o));
    if (t == 1) show("  gs_buf", gs_buf + 8, 8);
    else show("  region", region + (t ? 4080 : 16), 4);
  }
  __asm__ volatile("vzeroupper");
}

AVX512 static void avx512_faults(void) {
  uint64_t o = fs_off(region);
  uint32_t out[16];
  uint16_t k;
  uint32_t idx[16] = {0, 1, 2, 3, 4, 5, 6, 7, 1024, 1025, 1026, 11, 12, 13, 14, 15};
  arm();
  __asm__ volatile("vmovdqu32 %[idx], %%zmm1\n\t"
                   "kxnorw %%k0, %%k0, %%k1\n\t"
                   "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
                   "mov $0x1111, %%eax\n\tmov $0x2222, %%ecx\n\tmov $0x3333, %%edx\n\t" SITE
                   "vpgatherdd %%fs:(%[o],%%zmm1,4), %%zmm0%{%%k1%}\n\t"
                   "vmovdqu32 %%zmm0, %[out]\n\tkmovw %%k1, %%eax\n\tmov %%ax, %[k]"
                   : [out] "=m"(out), [k] "=m"(k)
                   : [o] "S"(o), [idx] "m"(idx)
                   : "rax", "rcx", "rdx", "r8", "xmm0", "xmm1", "k1", "memory");
  report("vpgatherdd zmm fs fault", 1, 1);
  show("  after", out, 16);
  printf("  mask after %04x\n", k);
  /* scatter: elements 8..10 land on the unmapped page */
  arm();
  __asm__ volatile("vmovdqu32 %[idx], %%zmm1\n\t"
                   "kxnorw %%k0, %%k0, %%k2\n\t"
                   "vpternlogd $0xff, %%zmm0, %%zmm0, %%zmm0\n\t"
                   "mov $0x1111, %%eax\n\tmov $0x2222, %%ecx\n\tmov $0x3333, %%edx\n\t" SITE
                   "vpscatterdd %%zmm0, %%fs:(%[o],%%zmm1,4)%{%%k2%}\n\t"
                   "kmovw %%k2, %%eax\n\tmov %%ax, %[k]"
                   : [k] "=m"(k)
                   : [o] "S"(o), [idx] "m"(idx)
                   : "rax", "rcx", "rdx", "r8", "xmm0", "xmm1", "k2", "memory");
  report("vpscatterdd zmm fs fault", 1, 1);
  show("  written", region, 16);
  printf("  mask after %04x\n", k);
  /* masked load and store across the page end: suppressed, then not */
  for (int t = 0; t < 2; t++) {
    arm();
    __asm__ volatile("mov %[mk], %%eax\n\tkmovw %%eax, %%k1\n\t"
                     "vpternlogd $0xff, %%zmm0, %%zmm0, %%zmm0\n\t"
                     "mov $0x1111, %%eax\n\tmov $0x2222, %%ecx\n\tmov $0x3333, %%edx\n\t" SITE
                     "vmovdqu32 %%fs:4064(%[o]), %%zmm0%{%%k1%}%{z%}\n\t"
                     "vmovdqu32 %%zmm0, %[out]"
                     : [out] "=m"(out)
                     : [o] "S"(o), [mk] "r"(t ? 0x8181 : 0x00ff)
                     : "rax", "rcx", "rdx", "r8", "xmm0", "k1", "memory");
    report(t ? "masked load fault" : "masked load suppressed", 1, 1);
    show("  after", out, 16);
    arm();
    __asm__ volatile("mov %[mk], %%eax\n\tkmovw %%eax, %%k1\n\t"
                     "vpternlogd $0xff, %%zmm0, %%zmm0, %%zmm0\n\t"
                     "mov $0x1111, %%eax\n\tmov $0x2222, %%ecx\n\tmov $0x3333, %%edx\n\t" SITE
                     "vmovdqu32 %%zmm0, %%fs:4064(%[o])%{%%k1%}"
                     :
                     : [o] "S"(o), [mk] "r"(t ? 0x8181 : 0x00ff)
                     : "rax", "rcx", "rdx", "r8", "xmm0", "k1", "memory");
    report(t ? "masked store fault" : "masked store suppressed", 1, 1);
    show("  page end", region + 4064, 8);
  }
  __asm__ volatile("vzeroupper");
}

int main(void) {
  __builtin_cpu_init();
  region = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region == MAP_FAILED) return 1;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, 0);
  if (syscall(SYS_arch_prctl, ARCH_SET_GS, (unsigned long)gs_buf) != 0) {
    printf("arch_prctl(ARCH_SET_GS) failed\n");
    return 1;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("fma")) {
    avx2_fs();
    avx2_faults();
  } else {
    printf("skip avx2: the CPU lacks AVX2, BMI2 or FMA\n");
  }
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) {
    avx512_fs();
    avx512_faults();
  } else {
    printf("skip avx512: the CPU lacks AVX-512 F, BW, VL or DQ\n");
  }
  return 0;
}
