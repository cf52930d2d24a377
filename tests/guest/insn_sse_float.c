/* insn_sse_float.c - SSE and SSE2 floating point: packed and scalar
 * arithmetic, sqrt, min/max (whose NaN and signed-zero behaviour returns
 * the second operand), logic, compares with all eight predicates,
 * shuffles and unpacks, conversions between float, double and int32
 * (rounding and truncating), conversions to and from general registers,
 * comiss/ucomiss flags and movmsk. rcpps/rsqrtps are left out: their
 * approximations differ between CPU models. */
#include "insn_sse.h"

#define FLOAT_OPS(X)                                                                          \
  X(addps, "addps", vec_f32, vec_f32) X(subps, "subps", vec_f32, vec_f32)                    \
  X(mulps, "mulps", vec_f32, vec_f32) X(divps, "divps", vec_f32, vec_f32)                    \
  X(sqrtps, "sqrtps", vec_f32, vec_f32) X(minps, "minps", vec_f32, vec_f32)                  \
  X(maxps, "maxps", vec_f32, vec_f32) X(andps, "andps", vec_any, vec_any)                    \
  X(andnps, "andnps", vec_any, vec_any) X(orps, "orps", vec_any, vec_any)                    \
  X(xorps, "xorps", vec_any, vec_any) X(unpcklps, "unpcklps", vec_f32, vec_f32)              \
  X(unpckhps, "unpckhps", vec_f32, vec_f32) X(shufps_1b, "shufps $0x1b,", vec_f32, vec_f32)  \
  X(shufps_e4, "shufps $0xe4,", vec_f32, vec_f32) X(shufps_72, "shufps $0x72,", vec_f32, vec_f32) \
  X(shufps_00, "shufps $0x00,", vec_f32, vec_f32) X(shufps_ff, "shufps $0xff,", vec_f32, vec_f32) \
  X(cmpeqps, "cmpps $0,", vec_f32, vec_f32) X(cmpltps, "cmpps $1,", vec_f32, vec_f32)         \
  X(cmpleps, "cmpps $2,", vec_f32, vec_f32) X(cmpunordps, "cmpps $3,", vec_f32, vec_f32)      \
  X(cmpneqps, "cmpps $4,", vec_f32, vec_f32) X(cmpnltps, "cmpps $5,", vec_f32, vec_f32)       \
  X(cmpnleps, "cmpps $6,", vec_f32, vec_f32) X(cmpordps, "cmpps $7,", vec_f32, vec_f32)       \
  X(addss, "addss", vec_f32, vec_f32) X(subss, "subss", vec_f32, vec_f32)                    \
  X(mulss, "mulss", vec_f32, vec_f32) X(divss, "divss", vec_f32, vec_f32)                    \
  X(sqrtss, "sqrtss", vec_f32, vec_f32) X(minss, "minss", vec_f32, vec_f32)                  \
  X(maxss, "maxss", vec_f32, vec_f32) X(cmpltss, "cmpss $1,", vec_f32, vec_f32)               \
  X(cmpunordss, "cmpss $3,", vec_f32, vec_f32) X(cmpnless, "cmpss $6,", vec_f32, vec_f32)     \
  X(addpd, "addpd", vec_f64, vec_f64) X(subpd, "subpd", vec_f64, vec_f64)                    \
  X(mulpd, "mulpd", vec_f64, vec_f64) X(divpd, "divpd", vec_f64, vec_f64)                    \
  X(sqrtpd, "sqrtpd", vec_f64, vec_f64) X(minpd, "minpd", vec_f64, vec_f64)                  \
  X(maxpd, "maxpd", vec_f64, vec_f64) X(andpd, "andpd", vec_any, vec_any)                    \
  X(unpcklpd, "unpcklpd", vec_f64, vec_f64) X(unpckhpd, "unpckhpd", vec_f64, vec_f64)        \
  X(shufpd_1, "shufpd $1,", vec_f64, vec_f64) X(shufpd_2, "shufpd $2,", vec_f64, vec_f64)    \
  X(cmpeqpd, "cmppd $0,", vec_f64, vec_f64) X(cmpltpd, "cmppd $1,", vec_f64, vec_f64)         \
  X(cmplepd, "cmppd $2,", vec_f64, vec_f64) X(cmpunordpd, "cmppd $3,", vec_f64, vec_f64)      \
  X(cmpneqpd, "cmppd $4,", vec_f64, vec_f64) X(cmpnltpd, "cmppd $5,", vec_f64, vec_f64)       \
  X(cmpnlepd, "cmppd $6,", vec_f64, vec_f64) X(cmpordpd, "cmppd $7,", vec_f64, vec_f64)       \
  X(addsd, "addsd", vec_f64, vec_f64) X(subsd, "subsd", vec_f64, vec_f64)                    \
  X(mulsd, "mulsd", vec_f64, vec_f64) X(divsd, "divsd", vec_f64, vec_f64)                    \
  X(sqrtsd, "sqrtsd", vec_f64, vec_f64) X(minsd, "minsd", vec_f64, vec_f64)                  \
  X(maxsd, "maxsd", vec_f64, vec_f64) X(cmpeqsd, "cmpsd $0,", vec_f64, vec_f64)               \
  X(cmpnltsd, "cmpsd $5,", vec_f64, vec_f64) X(cmpordsd, "cmpsd $7,", vec_f64, vec_f64)       \
  X(cvtps2pd, "cvtps2pd", vec_f64, vec_f32) X(cvtpd2ps, "cvtpd2ps", vec_f32, vec_f64)        \
  X(cvtss2sd, "cvtss2sd", vec_f64, vec_f32) X(cvtsd2ss, "cvtsd2ss", vec_f32, vec_f64)        \
  X(cvtdq2ps, "cvtdq2ps", vec_f32, vec_int) X(cvtps2dq, "cvtps2dq", vec_int, vec_f32)        \
  X(cvttps2dq, "cvttps2dq", vec_int, vec_f32) X(cvtpd2dq, "cvtpd2dq", vec_int, vec_f64)      \
  X(cvttpd2dq, "cvttpd2dq", vec_int, vec_f64) X(cvtdq2pd, "cvtdq2pd", vec_f64, vec_int)

FLOAT_OPS(SSE_FAMILY)

/* Conversions between xmm and general registers, 32 and 64-bit. */
static void test_gpr_conversions(void) {
  if (!family("cvt_gpr"))
    return;
  for (int i = 0; i < 4 * SSE_CASES; i++) {
    vec128 vf = vec_f32(), vd = vec_f64(), r[4];
    uint64_t g = operand(64);
    uint32_t mx = MXCSR_DEFAULT | (uint32_t)(rnd_below(4) << 13), mx_in = mx;
    uint64_t ss2si32, ss2si64, tss2si32, tss2si64, sd2si32, sd2si64, tsd2si32, tsd2si64;
    memset(r, 0, sizeof r);
    __asm__ volatile("ldmxcsr (%[mx])\n\t"
                     "movdqa (%[vf]), %%xmm0\n\tmovdqa (%[vd]), %%xmm1\n\t"
                     "cvtss2si %%xmm0, %k[a]\n\tcvtss2si %%xmm0, %[b]\n\t"
                     "cvttss2si %%xmm0, %k[c]\n\tcvttss2si (%[vf]), %[d]\n\t"
                     "cvtsd2si %%xmm1, %k[e]\n\tcvtsd2si (%[vd]), %[f]\n\t"
                     "cvttsd2si %%xmm1, %k[g]\n\tcvttsd2si %%xmm1, %[h]\n\t"
                     /* int -> float conversions, into registers holding other data */
                     "cvtsi2ss %k[src], %%xmm0\n\tmovdqa %%xmm0, (%[r])\n\t"
                     "cvtsi2ssq %[src], %%xmm0\n\tmovdqa %%xmm0, 16(%[r])\n\t"
                     "cvtsi2sd %k[src], %%xmm1\n\tmovdqa %%xmm1, 32(%[r])\n\t"
                     "cvtsi2sdq %[src], %%xmm1\n\tmovdqa %%xmm1, 48(%[r])\n\t"
                     "stmxcsr (%[mx])\n\tldmxcsr (%[def])\n\t"
                     : [a] "=&r"(ss2si32), [b] "=&r"(ss2si64), [c] "=&r"(tss2si32),
                       [d] "=&r"(tss2si64), [e] "=&r"(sd2si32), [f] "=&r"(sd2si64),
                       [g] "=&r"(tsd2si32), [h] "=&r"(tsd2si64)
                     : [vf] "r"(&vf), [vd] "r"(&vd), [src] "r"(g), [r] "r"(r), [mx] "r"(&mx),
                       [def] "r"(&mxcsr_default)
                     : "memory", "xmm0", "xmm1");
    out("f=%08x d=%016" PRIx64 " g=%016" PRIx64 " rc=%u: ss2si %08x %016" PRIx64
        " tss2si %08x %016" PRIx64 " sd2si %08x %016" PRIx64 " tsd2si %08x %016" PRIx64
        " si2ss " VFMT " " VFMT " si2sd " VFMT " " VFMT " mx=%02x",
        vf.d[0], vd.q[0], g, (mx_in >> 13) & 3, (uint32_t)ss2si32, ss2si64, (uint32_t)tss2si32,
        tss2si64, (uint32_t)sd2si32, sd2si64, (uint32_t)tsd2si32, tsd2si64, VARG(r[0]), VARG(r[1]),
        VARG(r[2]), VARG(r[3]), mx & 0x3f);
  }
  family_end();
}

static void test_comis_movmsk(void) {
  if (!family("comis_movmsk"))
    return;
  for (int i = 0; i < 4 * SSE_CASES; i++) {
    vec128 a = rnd_below(2) ? vec_f32() : vec_f64(), b = rnd_below(4) ? vec_f32() : a;
    uint64_t fin = flags_in(), f1 = fin, f2 = fin, f3 = fin, f4 = fin, mps, mpd;
    uint32_t mx = MXCSR_DEFAULT;
    __asm__ volatile("ldmxcsr (%[mx])\n\tmovdqa (%[a]), %%xmm0\n\tmovdqa (%[b]), %%xmm1\n\t"
                     "lea -128(%%rsp), %%rsp\n\t"
                     "pushq %[f1]\n\tpopfq\n\tcomiss %%xmm1, %%xmm0\n\tpushfq\n\tpopq %[f1]\n\t"
                     "pushq %[f2]\n\tpopfq\n\tucomiss (%[b]), %%xmm0\n\tpushfq\n\tpopq %[f2]\n\t"
                     "pushq %[f3]\n\tpopfq\n\tcomisd %%xmm1, %%xmm0\n\tpushfq\n\tpopq %[f3]\n\t"
                     "pushq %[f4]\n\tpopfq\n\tucomisd %%xmm1, %%xmm0\n\tpushfq\n\tpopq %[f4]\n\t"
                     "lea 128(%%rsp), %%rsp\n\t"
                     "movmskps %%xmm0, %k[mps]\n\tmovmskpd %%xmm1, %k[mpd]\n\t"
                     "stmxcsr (%[mx])\n\tldmxcsr (%[def])\n\t"
                     : [f1] "+r"(f1), [f2] "+r"(f2), [f3] "+r"(f3), [f4] "+r"(f4),
                       [mps] "=&r"(mps), [mpd] "=&r"(mpd)
                     : [a] "r"(&a), [b] "r"(&b), [mx] "r"(&mx), [def] "r"(&mxcsr_default)
                     : "memory", "cc", "xmm0", "xmm1");
    out("a=" VFMT " b=" VFMT " f=%03" PRIx64 ": comiss %03" PRIx64 " ucomiss %03" PRIx64
        " comisd %03" PRIx64 " ucomisd %03" PRIx64 " movmskps %" PRIx64 " movmskpd %" PRIx64
        " mx=%02x",
        VARG(a), VARG(b), fin & F_ARITH, f1 & F_ARITH, f2 & F_ARITH, f3 & F_ARITH, f4 & F_ARITH,
        mps, mpd, mx & 0x3f);
  }
  family_end();
}

int main(int argc, char **argv) {
  insn_init(argc, argv);
  FLOAT_OPS(SSE_CALL)
  test_gpr_conversions();
  test_comis_movmsk();
  return 0;
}
