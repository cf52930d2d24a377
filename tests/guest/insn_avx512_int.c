/* insn_avx512_int.c - AVX-512 F/BW/DQ/CD/VL integer instructions with
 * opmasks: add/sub (wrapping and saturating bytes and words), multiplies
 * (vpmullq, vpmuludq), min/max/abs on 64-bit lanes, shifts and rotates
 * (per lane, by immediate, vpsraq), vpternlogd with all 256 truth tables
 * and vpternlogq, two-table permutes vpermt2d/w/q and vpermi2d, vpermw,
 * vpshufb, valignd/q, unpacks and packs, logic, blends under a mask,
 * vpconflictd and vplzcntq, compares into opmask registers (vpcmp[u]
 * b/w/d/q with every predicate, vptestm/vptestnm), compress/expand, masked
 * moves of bytes to quadwords, and the opmask instructions themselves
 * (kmov, kand, kandn, kor, kxor, kxnor, knot, kadd, kshift, kunpck and the
 * flags of kortest and ktest). Forms as in insn_avx512.h. */
#include "insn_avx512.h"

#define VPCMP8(X, n, i, bc) X(n##_0, i " $0,", ZK, bc, vec_int, vec_int) X(n##_1, i " $1,", ZK, bc, vec_int, vec_int) \
  X(n##_2, i " $2,", ZK, bc, vec_int, vec_int) X(n##_3, i " $3,", ZK, bc, vec_int, vec_int)           \
  X(n##_4, i " $4,", ZK, bc, vec_int, vec_int) X(n##_5, i " $5,", ZK, bc, vec_int, vec_int)           \
  X(n##_6, i " $6,", ZK, bc, vec_int, vec_int) X(n##_7, i " $7,", ZK, bc, vec_int, vec_int)

#define Z_INT_OPS(X)                                                                                   \
  X(vpaddd, "vpaddd", Z3, B16, vec_int, vec_int) X(vpaddq, "vpaddq", Z3, B8, vec_int, vec_int)         \
  X(vpsubb, "vpsubb", Z3, NOB, vec_int, vec_int) X(vpaddw, "vpaddw", Z3, NOB, vec_int, vec_int)        \
  X(vpaddusw, "vpaddusw", Z3, NOB, vec_int, vec_int) X(vpsubsb, "vpsubsb", Z3, NOB, vec_int, vec_int)  \
  X(vpmullq, "vpmullq", Z3, B8, vec_int, vec_int) X(vpmulld, "vpmulld", Z3, B16, vec_int, vec_int)     \
  X(vpmuludq, "vpmuludq", Z3, B8, vec_int, vec_int) X(vpmulhrsw, "vpmulhrsw", Z3, NOB, vec_int, vec_int) \
  X(vpmaddwd, "vpmaddwd", Z3, NOB, vec_int, vec_int) \
  X(vpmaxsq, "vpmaxsq", Z3, B8, vec_int, vec_int) X(vpminuq, "vpminuq", Z3, B8, vec_int, vec_int)      \
  X(vpmaxub, "vpmaxub", Z3, NOB, vec_int, vec_int) X(vpabsq, "vpabsq", Z2, B8, vec_int, vec_int)       \
  X(vpabsw, "vpabsw", Z2, NOB, vec_int, vec_int)                                                       \
  X(vpsravq, "vpsravq", Z3, B8, vec_int, vec_counts) X(vpsllvw, "vpsllvw", Z3, NOB, vec_int, vec_counts) \
  X(vpsrlvd, "vpsrlvd", Z3, B16, vec_int, vec_counts) X(vpsravw, "vpsravw", Z3, NOB, vec_int, vec_counts) \
  X(vprolvd, "vprolvd", Z3, B16, vec_int, vec_int) X(vprorvq, "vprorvq", Z3, B8, vec_int, vec_int)     \
  X(vprold_7, "vprold $7,", Z2, B16, vec_int, vec_int) X(vprorq_33, "vprorq $33,", Z2, B8, vec_int, vec_int) \
  X(vpsraq_13, "vpsraq $13,", Z2, B8, vec_int, vec_int) X(vpsrlw_3, "vpsrlw $3,", Z2, NOB, vec_int, vec_int) \
  X(vpternlogd_96, "vpternlogd $0x96,", Z3, B16, vec_int, vec_int)                                     \
  X(vpternlogq_ca, "vpternlogq $0xca,", Z3, B8, vec_int, vec_int)                                      \
  X(vpermt2d, "vpermt2d", Z3, B16, vec_int, vec_int) X(vpermt2q, "vpermt2q", Z3, B8, vec_int, vec_int) \
  X(vpermt2w, "vpermt2w", Z3, NOB, vec_int, vec_int) X(vpermi2d, "vpermi2d", Z3, B16, vec_int, vec_int) \
  X(vpermw, "vpermw", Z3, NOB, vec_int, vec_int) X(vpermq, "vpermq", Z3N, B8, vec_int, vec_int)        \
  X(vpshufb, "vpshufb", Z3, NOB, vec_int, vec_int) X(vpshufd_4e, "vpshufd $0x4e,", Z2, B16, vec_int, vec_int) \
  X(valignd_5, "valignd $5,", Z3, B16, vec_int, vec_int) X(valignq_3, "valignq $3,", Z3, B8, vec_int, vec_int) \
  X(vpunpckhdq, "vpunpckhdq", Z3, B16, vec_int, vec_int) X(vpunpcklbw, "vpunpcklbw", Z3, NOB, vec_int, vec_int) \
  X(vpackssdw, "vpackssdw", Z3, B16, vec_int, vec_int) X(vpackuswb, "vpackuswb", Z3, NOB, vec_int, vec_int) \
  X(vpandq, "vpandq", Z3, B8, vec_int, vec_int) X(vpandnd, "vpandnd", Z3, B16, vec_int, vec_int)       \
  X(vpord, "vpord", Z3, B16, vec_int, vec_int) X(vpxorq, "vpxorq", Z3, B8, vec_int, vec_int)           \
  X(vpblendmd, "vpblendmd", Z3, B16, vec_int, vec_int) X(vpblendmb, "vpblendmb", Z3, NOB, vec_int, vec_int) \
  X(vpblendmw, "vpblendmw", Z3, NOB, vec_int, vec_int)                                                 \
  X(vpconflictd, "vpconflictd", Z2, B16, vec_int, vec_int) X(vplzcntq, "vplzcntq", Z2, B8, vec_int, vec_int) \
  VPCMP8(X, vpcmpd, "vpcmpd", B16) VPCMP8(X, vpcmpuq, "vpcmpuq", B8) VPCMP8(X, vpcmpb, "vpcmpb", NOB)   \
  VPCMP8(X, vpcmpuw, "vpcmpuw", NOB)                                                                   \
  X(vpcmpeqq, "vpcmpeqq", ZK, B8, vec_int, vec_int) X(vpcmpgtb, "vpcmpgtb", ZK, NOB, vec_int, vec_int) \
  X(vptestmd, "vptestmd", ZK, B16, vec_int, vec_int) X(vptestnmq, "vptestnmq", ZK, B8, vec_int, vec_int) \
  X(vptestmb, "vptestmb", ZK, NOB, vec_int, vec_int)                                                   \
  X(vpcompressd, "vpcompressd", ZC, NOB, vec_int, vec_int) X(vpcompressq, "vpcompressq", ZC, NOB, vec_int, vec_int) \
  X(vpexpandd, "vpexpandd", Z2, NOB, vec_int, vec_int) X(vpexpandq, "vpexpandq", Z2, NOB, vec_int, vec_int) \
  X(vmovdqu8, "vmovdqu8", ZS, NOB, vec_int, vec_int) X(vmovdqu16, "vmovdqu16", ZS, NOB, vec_int, vec_int) \
  X(vmovdqu32, "vmovdqu32", ZS, NOB, vec_int, vec_int) X(vmovdqu64, "vmovdqu64", ZS, NOB, vec_int, vec_int) \
  X(vmovdqa32, "vmovdqa32", ZS, NOB, vec_int, vec_int)

Z_INT_OPS(Z_FAMILY)

/* vpternlogd with every immediate, merge-masked, 16 cases each. */
#define TL(n)                                                                                          \
  case n:                                                                                              \
    __asm__ volatile("vmovdqu64 (%[a]), %%zmm0\n\tvmovdqu64 (%[b]), %%zmm1\n\tvmovdqu64 (%[c]), %%zmm2\n\t" \
                     "kmovw %k[k], %%k1\n\tvpternlogd $" #n ", %%zmm1, %%zmm0, %%zmm2%{%%k1%}\n\t"     \
                     "vpternlogd $" #n ", %%ymm1, %%ymm0, %%ymm0\n\tvmovdqu64 %%zmm2, (%[r])\n\t"       \
                     "vmovdqu64 %%zmm0, 64(%[r])\n\tvzeroupper\n\t"                                     \
                     :                                                                                 \
                     : [a] "r"(a), [b] "r"(b), [c] "r"(c), [k] "r"(k), [r] "r"(r)                   \
                     : "memory", "xmm0", "xmm1", "xmm2", "k1");                                        \
    break;
#define TL16(h) TL(0x##h##0) TL(0x##h##1) TL(0x##h##2) TL(0x##h##3) TL(0x##h##4) TL(0x##h##5) \
  TL(0x##h##6) TL(0x##h##7) TL(0x##h##8) TL(0x##h##9) TL(0x##h##a) TL(0x##h##b) TL(0x##h##c)   \
  TL(0x##h##d) TL(0x##h##e) TL(0x##h##f)

AVX512 static void ternlog(unsigned imm, const vreg *a, const vreg *b, const vreg *c, uint64_t k, vreg *r) {
  switch (imm) {
    TL16(0) TL16(1) TL16(2) TL16(3) TL16(4) TL16(5) TL16(6) TL16(7) TL16(8) TL16(9) TL16(a) TL16(b)
    TL16(c) TL16(d) TL16(e) TL16(f)
  }
}

static void test_ternlog_all(void) {
  if (!family("vpternlogd_all"))
    return;
  static vreg r[2];
  char h0[130];
  for (int i = 0; i < 16 * 256; i++) {
    vreg a = vr(64, vec_int), b = vr(64, vec_int), c = vr(64, vec_int);
    uint64_t k = kmask();
    ternlog((unsigned)i & 255, &a, &b, &c, k, r);
    uint64_t in = fnv_bytes(fnv_bytes(fnv_bytes(FNV_INIT, &a, 64), &b, 64), &c, 64);
    out("imm=%02x in=%016" PRIx64 " k=%04x: %s %016" PRIx64, i & 255, in, (unsigned)(k & 0xffff),
        vhex(h0, &r[0], 64), fnv_bytes(FNV_INIT, &r[1], 64));
  }
  family_end();
}

/* Opmask instructions: k1 and k2 from random 64-bit values; every result
 * is moved out through a general register or memory. kortest and ktest
 * set ZF and CF and clear OF SF AF PF. */
AVX512 static void test_kregs(void) {
  if (!family("kregs"))
    return;
  for (int i = 0; i < 2 * CASES; i++) {
    uint64_t x = kmask(), y = kmask(), res[16], fin = flags_in(), f[4] = {fin, fin, fin, fin};
    __asm__ volatile(
        "kmovq %[x], %%k1\n\tkmovq (%[py]), %%k2\n\t"
        "kandw %%k2, %%k1, %%k3\n\tkmovq %%k3, 0(%[r])\n\t"
        "kandnq %%k2, %%k1, %%k3\n\tkmovq %%k3, 8(%[r])\n\t"
        "korb %%k2, %%k1, %%k3\n\tkmovq %%k3, 16(%[r])\n\t"
        "kxord %%k2, %%k1, %%k3\n\tkmovq %%k3, 24(%[r])\n\t"
        "kxnorw %%k2, %%k1, %%k3\n\tkmovq %%k3, 32(%[r])\n\t"
        "knotq %%k1, %%k3\n\tkmovq %%k3, 40(%[r])\n\t"
        "kaddd %%k2, %%k1, %%k3\n\tkmovq %%k3, 48(%[r])\n\t"
        "kshiftlw $5, %%k1, %%k3\n\tkmovq %%k3, 56(%[r])\n\t"
        "kshiftrq $37, %%k1, %%k3\n\tkmovq %%k3, 64(%[r])\n\t"
        "kshiftlb $9, %%k1, %%k3\n\tkmovq %%k3, 72(%[r])\n\t"
        "kunpckbw %%k2, %%k1, %%k3\n\tkmovq %%k3, 80(%[r])\n\t"
        "kunpckdq %%k2, %%k1, %%k3\n\tkmovq %%k3, 88(%[r])\n\t"
        "kmovw %%k1, %%eax\n\tmovq %%rax, 96(%[r])\n\t"
        "kmovb %%k2, %%eax\n\tmovq %%rax, 104(%[r])\n\t"
        "kmovd %%k1, %%k4\n\tkmovq %%k4, 112(%[r])\n\t"
        "kmovb %%k2, 120(%[r])\n\t"
        "lea -128(%%rsp), %%rsp\n\t"
        "pushq 0(%[f])\n\tpopfq\n\tkortestw %%k2, %%k1\n\tpushfq\n\tpopq 0(%[f])\n\t"
        "pushq 8(%[f])\n\tpopfq\n\tkortestq %%k1, %%k1\n\tpushfq\n\tpopq 8(%[f])\n\t"
        "pushq 16(%[f])\n\tpopfq\n\tktestd %%k2, %%k1\n\tpushfq\n\tpopq 16(%[f])\n\t"
        "pushq 24(%[f])\n\tpopfq\n\tktestb %%k1, %%k2\n\tpushfq\n\tpopq 24(%[f])\n\t"
        "lea 128(%%rsp), %%rsp\n\t"
        :
        : [x] "r"(x), [py] "r"(&y), [r] "r"(res), [f] "r"(f)
        : "memory", "cc", "rax", "k1", "k2", "k3", "k4");
    res[15] &= 0xff; /* kmovb to memory writes one byte */
    uint64_t h = fnv_bytes(FNV_INIT, res, sizeof res);
    out("x=%016" PRIx64 " y=%016" PRIx64 " f=%03" PRIx64 ": %016" PRIx64 " and %016" PRIx64
        " add %016" PRIx64 " unpck %016" PRIx64 " flags %03" PRIx64 " %03" PRIx64 " %03" PRIx64
        " %03" PRIx64,
        x, y, fin & F_ARITH, h, res[0], res[6], res[11], f[0] & F_ARITH, f[1] & F_ARITH,
        f[2] & F_ARITH, f[3] & F_ARITH);
  }
  family_end();
}

int main(int argc, char **argv) {
  insn_init(argc, argv);
  if (!require(Z_REQUIRE))
    return 0;
  Z_INT_OPS(Z_CALL)
  test_ternlog_all();
  test_kregs();
  return 0;
}
