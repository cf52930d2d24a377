/* insn_sse41.c - SSE4.1: variable and immediate blends (pblendvb and
 * blendvps/pd use xmm0 implicitly), round{ps,pd,ss,sd} with every
 * immediate (four directed modes, MXCSR mode, precision-exception
 * suppression), pmulld, pmuldq, ptest flags, signed/unsigned min/max,
 * insertps, dpps/dppd, pextr/pinsr of every width, extractps, sign and
 * zero extensions pmovsx/pmovzx, packusdw, pcmpeqq, phminposuw, mpsadbw. */
#include "insn_sse.h"

#define ROUND_IMMS(X, op, gen)                                                                 \
  X(op##_0, #op " $0,", gen, gen) X(op##_1, #op " $1,", gen, gen) X(op##_2, #op " $2,", gen, gen) \
  X(op##_3, #op " $3,", gen, gen) X(op##_4, #op " $4,", gen, gen) X(op##_8, #op " $8,", gen, gen) \
  X(op##_9, #op " $9,", gen, gen) X(op##_10, #op " $10,", gen, gen) X(op##_11, #op " $11,", gen, gen) \
  X(op##_12, #op " $12,", gen, gen)

#define SSE41_OPS(X)                                                                          \
  X(blendps_5, "blendps $5,", vec_f32, vec_f32) X(blendpd_2, "blendpd $2,", vec_f64, vec_f64) \
  X(pblendw_a5, "pblendw $0xa5,", vec_int, vec_int) X(pmulld, "pmulld", vec_int, vec_int)     \
  X(pmuldq, "pmuldq", vec_int, vec_int) X(pminsb, "pminsb", vec_int, vec_int)                 \
  X(pminsd, "pminsd", vec_int, vec_int) X(pminuw, "pminuw", vec_int, vec_int)                 \
  X(pminud, "pminud", vec_int, vec_int) X(pmaxsb, "pmaxsb", vec_int, vec_int)                 \
  X(pmaxsd, "pmaxsd", vec_int, vec_int) X(pmaxuw, "pmaxuw", vec_int, vec_int)                 \
  X(pmaxud, "pmaxud", vec_int, vec_int) X(insertps_00, "insertps $0x00,", vec_f32, vec_f32)   \
  X(insertps_1d, "insertps $0x1d,", vec_f32, vec_f32) X(insertps_4c, "insertps $0x4c,", vec_f32, vec_f32) \
  X(insertps_f0, "insertps $0xf0,", vec_f32, vec_f32) X(insertps_b6, "insertps $0xb6,", vec_f32, vec_f32) \
  X(dpps_ff, "dpps $0xff,", vec_f32, vec_f32) X(dpps_71, "dpps $0x71,", vec_f32, vec_f32)     \
  X(dpps_3c, "dpps $0x3c,", vec_f32, vec_f32) X(dppd_31, "dppd $0x31,", vec_f64, vec_f64)     \
  X(dppd_f3, "dppd $0xf3,", vec_f64, vec_f64) X(pmovsxbw, "pmovsxbw", vec_int, vec_int)       \
  X(pmovsxbd, "pmovsxbd", vec_int, vec_int) X(pmovsxbq, "pmovsxbq", vec_int, vec_int)         \
  X(pmovsxwd, "pmovsxwd", vec_int, vec_int) X(pmovsxwq, "pmovsxwq", vec_int, vec_int)         \
  X(pmovsxdq, "pmovsxdq", vec_int, vec_int) X(pmovzxbw, "pmovzxbw", vec_int, vec_int)         \
  X(pmovzxbd, "pmovzxbd", vec_int, vec_int) X(pmovzxbq, "pmovzxbq", vec_int, vec_int)         \
  X(pmovzxwd, "pmovzxwd", vec_int, vec_int) X(pmovzxwq, "pmovzxwq", vec_int, vec_int)         \
  X(pmovzxdq, "pmovzxdq", vec_int, vec_int) X(packusdw, "packusdw", vec_int, vec_int)         \
  X(pcmpeqq, "pcmpeqq", vec_int, vec_int) X(phminposuw, "phminposuw", vec_int, vec_int)       \
  X(mpsadbw_0, "mpsadbw $0,", vec_int, vec_int) X(mpsadbw_2, "mpsadbw $2,", vec_int, vec_int) \
  X(mpsadbw_5, "mpsadbw $5,", vec_int, vec_int) X(mpsadbw_7, "mpsadbw $7,", vec_int, vec_int) \
  ROUND_IMMS(X, roundps, vec_f32) ROUND_IMMS(X, roundpd, vec_f64)                             \
  ROUND_IMMS(X, roundss, vec_f32) ROUND_IMMS(X, roundsd, vec_f64)

SSE41_OPS(SSE_FAMILY)

/* Variable blends: destination xmm1, source xmm2 or memory, mask xmm0. */
#define BLENDV(name, insn, gen)                                                              \
  static void test_##name(void) {                                                             \
    if (!family(#name))                                                                        \
      return;                                                                                  \
    for (int i = 0; i < SSE_CASES; i++) {                                                      \
      vec128 a = gen(), b = gen(), mask = vec_int(), r, m;                                     \
      __asm__ volatile("movdqa (%[mask]), %%xmm0\n\tmovdqa (%[a]), %%xmm1\n\t"                 \
                       "movdqa (%[b]), %%xmm2\n\tmovdqa %%xmm1, %%xmm3\n\t"                    \
                       insn " %%xmm0, %%xmm2, %%xmm1\n\t" insn " %%xmm0, (%[b]), %%xmm3\n\t"   \
                       "movdqa %%xmm1, (%[r])\n\tmovdqa %%xmm3, (%[m])\n\t"                    \
                       :                                                                       \
                       : [a] "r"(&a), [b] "r"(&b), [mask] "r"(&mask), [r] "r"(&r), [m] "r"(&m) \
                       : "memory", "xmm0", "xmm1", "xmm2", "xmm3");                            \
      out("a=" VFMT " b=" VFMT " mask=" VFMT ": " VFMT " mem %s", VARG(a), VARG(b), VARG(mask), \
          VARG(r), memcmp(&r, &m, 16) ? "DIFFERS" : "same");                                   \
    }                                                                                          \
    family_end();                                                                              \
  }

BLENDV(pblendvb, "pblendvb", vec_int)
BLENDV(blendvps, "blendvps", vec_f32)
BLENDV(blendvpd, "blendvpd", vec_f64)

static void test_ptest(void) {
  if (!family("ptest"))
    return;
  for (int i = 0; i < 2 * SSE_CASES; i++) {
    vec128 a = vec_int(), b = vec_int();
    uint64_t r = rnd_below(4);
    if (r == 0)
      b = a;
    else if (r == 1)
      for (int k = 0; k < 2; k++)
        b.q[k] = ~a.q[k] & rnd64();
    uint64_t fin = flags_in(), f = fin;
    __asm__ volatile("movdqa (%[a]), %%xmm0\n\t" SET_FLAGS "ptest (%[b]), %%xmm0\n\t" GET_FLAGS
                     : [fl] "+r"(f)
                     : [a] "r"(&a), [b] "r"(&b)
                     : "memory", "cc", "xmm0");
    out("a=" VFMT " b=" VFMT " f=%03" PRIx64 ": %03" PRIx64, VARG(a), VARG(b), fin & F_ARITH,
        f & F_ARITH);
  }
  family_end();
}

static void test_extract_insert(void) {
  if (!family("pextr_pinsr_extractps"))
    return;
  for (int i = 0; i < 2 * SSE_CASES; i++) {
    vec128 a = vec_int(), ins;
    uint64_t g = operand(64), eb, ew, ed, eq, eps, pre = rnd64();
    uint8_t mb = 0;
    uint16_t mw = 0;
    eb = ew = ed = eq = eps = pre;
    __asm__ volatile("movdqa (%[a]), %%xmm0\n\t"
                     "pextrb $13, %%xmm0, %k[eb]\n\tpextrw $6, %%xmm0, %k[ew]\n\t"
                     "pextrd $3, %%xmm0, %k[ed]\n\tpextrq $1, %%xmm0, %[eq]\n\t"
                     "extractps $2, %%xmm0, %k[eps]\n\t"
                     "pextrb $5, %%xmm0, (%[mb])\n\tpextrw $1, %%xmm0, (%[mw])\n\t"
                     "pinsrb $9, %k[g], %%xmm0\n\tpinsrd $2, %k[g], %%xmm0\n\t"
                     "pinsrq $0, %[g], %%xmm0\n\tmovdqa %%xmm0, (%[ins])\n\t"
                     : [eb] "+r"(eb), [ew] "+r"(ew), [ed] "+r"(ed), [eq] "+r"(eq), [eps] "+r"(eps)
                     : [a] "r"(&a), [g] "r"(g), [ins] "r"(&ins), [mb] "r"(&mb), [mw] "r"(&mw)
                     : "memory", "xmm0");
    out("a=" VFMT " g=%016" PRIx64 ": pextrb %016" PRIx64 " pextrw %016" PRIx64 " pextrd %016" PRIx64
        " pextrq %016" PRIx64 " extractps %016" PRIx64 " mem %02x %04x pinsr " VFMT,
        VARG(a), g, eb, ew, ed, eq, eps, mb, mw, VARG(ins));
  }
  family_end();
}

int main(int argc, char **argv) {
  insn_init(argc, argv);
  SSE41_OPS(SSE_CALL)
  test_pblendvb();
  test_blendvps();
  test_blendvpd();
  test_ptest();
  test_extract_insert();
  return 0;
}
