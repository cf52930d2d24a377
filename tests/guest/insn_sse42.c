/* insn_sse42.c - SSE4.2: the string compare instructions pcmpistri,
 * pcmpistrm, pcmpestri, pcmpestrm in several modes (byte and word, signed
 * and unsigned, equal-any, ranges, equal-each, equal-ordered, negations,
 * least/most significant index, bit and byte masks) on short strings from
 * a small alphabet with embedded terminators and explicit lengths beyond
 * the vector; their flags (CF ZF SF OF; AF and PF are cleared); crc32 on
 * 8/16/32/64-bit operands; and pcmpgtq. */
#include "insn_sse.h"

#define STR_IMMS(X)                                                                           \
  X(0x00) X(0x01) X(0x02) X(0x04) X(0x05) X(0x08) X(0x09) X(0x0c) X(0x0d) X(0x12) X(0x14)     \
  X(0x18) X(0x1a) X(0x30) X(0x3a) X(0x40) X(0x44) X(0x4c) X(0x70) X(0x7e)

static vec128 str_operand(void) {
  vec128 v;
  int alphabet = 2 + (int)rnd_below(4);
  for (int k = 0; k < 16; k++)
    v.b[k] = (uint8_t)('a' + rnd_below((uint64_t)alphabet));
  if (rnd_below(4) == 0) /* word elements with high bytes too */
    for (int k = 1; k < 16; k += 2)
      v.b[k] = (uint8_t)rnd_below(2);
  if (rnd_below(2)) /* a terminator somewhere */
    v.b[rnd_below(16)] = 0;
  return v;
}

static int64_t length_operand(void) {
  return rnd_below(8) ? (int64_t)rnd_below(41) - 20 : (int64_t)operand(64);
}

#define STR_CASE(imm)                                                                         \
  case imm:                                                                                   \
    __asm__ volatile("movdqa (%[a]), %%xmm1\n\t" SET_FLAGS                                    \
                     "pcmpistri $" #imm ", (%[b]), %%xmm1\n\t" GET_FLAGS                      \
                     : [fl] "+r"(f_ii), "=c"(i_idx) : [a] "r"(&a), [b] "r"(&b)                \
                     : "memory", "cc", "xmm1");                                               \
    __asm__ volatile("movdqa (%[a]), %%xmm1\n\tmovdqa (%[b]), %%xmm2\n\t" SET_FLAGS           \
                     "pcmpistrm $" #imm ", %%xmm2, %%xmm1\n\t" GET_FLAGS                      \
                     "movdqa %%xmm0, (%[r])\n\t"                                              \
                     : [fl] "+r"(f_im) : [a] "r"(&a), [b] "r"(&b), [r] "r"(&im)               \
                     : "memory", "cc", "xmm0", "xmm1", "xmm2");                               \
    __asm__ volatile("movdqa (%[a]), %%xmm1\n\t" SET_FLAGS                                    \
                     "pcmpestri $" #imm ", (%[b]), %%xmm1\n\t" GET_FLAGS                      \
                     : [fl] "+r"(f_ei), "=c"(e_idx)                                           \
                     : [a] "r"(&a), [b] "r"(&b), "a"(la), "d"(lb)                             \
                     : "memory", "cc", "xmm1");                                               \
    __asm__ volatile("movdqa (%[a]), %%xmm1\n\tmovdqa (%[b]), %%xmm2\n\t" SET_FLAGS           \
                     "pcmpestrm $" #imm ", %%xmm2, %%xmm1\n\t" GET_FLAGS                      \
                     "movdqa %%xmm0, (%[r])\n\t"                                              \
                     : [fl] "+r"(f_em) : [a] "r"(&a), [b] "r"(&b), [r] "r"(&em), "a"(la), "d"(lb) \
                     : "memory", "cc", "xmm0", "xmm1", "xmm2");                               \
    break;

#define IMM_VALUE(imm) imm,
static const unsigned str_imms[] = {STR_IMMS(IMM_VALUE)};

static void test_string_compare(void) {
  if (!family("pcmpxstrx"))
    return;
  for (int i = 0; i < 8 * SSE_CASES; i++) {
    unsigned imm = str_imms[rnd_below(sizeof str_imms / sizeof str_imms[0])];
    vec128 a = str_operand(), b = rnd_below(4) ? str_operand() : a, im = {{0}}, em = {{0}};
    int64_t la = length_operand(), lb = length_operand();
    uint64_t fin = flags_in(), f_ii = fin, f_im = fin, f_ei = fin, f_em = fin, i_idx = 0, e_idx = 0;
    switch (imm) { STR_IMMS(STR_CASE) }
    out("imm=%02x a=" VFMT " b=" VFMT " la=%" PRId64 " lb=%" PRId64 ": istri %" PRIu64
        " %03" PRIx64 " istrm " VFMT " %03" PRIx64 " estri %" PRIu64 " %03" PRIx64 " estrm " VFMT
        " %03" PRIx64,
        imm, VARG(a), VARG(b), la, lb, i_idx & 0xffffffff, f_ii & F_ARITH, VARG(im), f_im & F_ARITH,
        e_idx & 0xffffffff, f_ei & F_ARITH, VARG(em), f_em & F_ARITH);
  }
  family_end();
}

static void test_crc32(void) {
  if (!family("crc32"))
    return;
  for (int i = 0; i < 4 * SSE_CASES; i++) {
    uint64_t crc = operand(32), v = operand(64);
    uint64_t c8 = crc, c16 = crc, c32 = crc, c64 = crc, cm = crc;
    __asm__("crc32b %b[v], %k[c]" : [c] "+r"(c8) : [v] "r"(v));
    __asm__("crc32w %w[v], %k[c]" : [c] "+r"(c16) : [v] "r"(v));
    __asm__("crc32l %k[v], %k[c]" : [c] "+r"(c32) : [v] "r"(v));
    __asm__("crc32q %[v], %[c]" : [c] "+r"(c64) : [v] "r"(v));
    __asm__("crc32q (%[p]), %[c]" : [c] "+r"(cm) : [p] "r"(&v), "m"(v));
    out("crc=%08" PRIx64 " v=%016" PRIx64 ": %016" PRIx64 " %016" PRIx64 " %016" PRIx64
        " %016" PRIx64 " mem %016" PRIx64, crc, v, c8, c16, c32, c64, cm);
  }
  family_end();
}

#define SSE42_OPS(X) X(pcmpgtq, "pcmpgtq", vec_int, vec_int)
SSE42_OPS(SSE_FAMILY)

int main(int argc, char **argv) {
  insn_init(argc, argv);
  test_string_compare();
  test_crc32();
  SSE42_OPS(SSE_CALL)
  return 0;
}
