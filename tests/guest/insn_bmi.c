/* insn_bmi.c - BMI1 (andn bextr blsi blsmsk blsr tzcnt), BMI2 (bzhi mulx
 * pdep pext rorx sarx shlx shrx), LZCNT and MOVBE at 16/32/64 bits with
 * register and memory sources. The flags each defines are compared (and
 * that mulx, pdep, pext, rorx and the shifts leave every flag alone); a
 * 32-bit destination must have its upper half cleared. Counts, bit
 * indices and bextr's start/length are mostly around the operand width. */
#include "insn_avx.h"

/* Operand templates: RM is the register-or-memory source, W the operand
 * size modifier; a is in rdx (mulx's implicit source), t is the r/m
 * source, d (and e for mulx's low half) are the destinations. */
#define T_ANDN(RM, W) "andn " RM ", %" W "[a], %" W "[d]"
#define T_BEXTR(RM, W) "bextr %" W "[a], " RM ", %" W "[d]"
#define T_BZHI(RM, W) "bzhi %" W "[a], " RM ", %" W "[d]"
#define T_SARX(RM, W) "sarx %" W "[a], " RM ", %" W "[d]"
#define T_SHLX(RM, W) "shlx %" W "[a], " RM ", %" W "[d]"
#define T_SHRX(RM, W) "shrx %" W "[a], " RM ", %" W "[d]"
#define T_PDEP(RM, W) "pdep " RM ", %" W "[a], %" W "[d]"
#define T_PEXT(RM, W) "pext " RM ", %" W "[a], %" W "[d]"
#define T_MULX(RM, W) "mulx " RM ", %" W "[e], %" W "[d]"
#define T_BLSI(RM, W) "blsi " RM ", %" W "[d]"
#define T_BLSMSK(RM, W) "blsmsk " RM ", %" W "[d]"
#define T_BLSR(RM, W) "blsr " RM ", %" W "[d]"
#define T_TZCNT(RM, W) "tzcnt " RM ", %" W "[d]"
#define T_LZCNT(RM, W) "lzcnt " RM ", %" W "[d]"
#define T_RORX5(RM, W) "rorx $5, " RM ", %" W "[d]"
#define T_RORX31(RM, W) "rorx $31, " RM ", %" W "[d]"
#define T_RORX0(RM, W) "rorx $0, " RM ", %" W "[d]"

#define FL_LOGIC (F_CF | F_ZF | F_SF | F_OF)
#define FL_COUNT (F_CF | F_ZF)
#define FL_BEXTR (F_CF | F_ZF | F_OF)

/* bextr control: start and length bytes mostly below 70. */
static inline uint64_t bextr_ctl(int bits) {
  if (!rnd_below(8))
    return operand(bits);
  return rnd_below(71) | rnd_below(71) << 8 | (rnd_below(4) ? 0 : rnd64() << 16);
}

static inline uint64_t small_count(int bits) {
  return rnd_below(4) ? count_operand() : operand(bits);
}

/* name, width, size modifier, template, flags compared, generator of a, of t. */
#define BMI_OPS(X)                                                                                   \
  X(andn32, 32, "k", T_ANDN, FL_LOGIC, operand, operand) X(andn64, 64, "q", T_ANDN, FL_LOGIC, operand, operand) \
  X(bextr32, 32, "k", T_BEXTR, FL_BEXTR, bextr_ctl, operand)                                        \
  X(bextr64, 64, "q", T_BEXTR, FL_BEXTR, bextr_ctl, operand)                                        \
  X(blsi32, 32, "k", T_BLSI, FL_LOGIC, operand, operand) X(blsi64, 64, "q", T_BLSI, FL_LOGIC, operand, operand) \
  X(blsmsk32, 32, "k", T_BLSMSK, FL_LOGIC, operand, operand)                                        \
  X(blsmsk64, 64, "q", T_BLSMSK, FL_LOGIC, operand, operand)                                        \
  X(blsr32, 32, "k", T_BLSR, FL_LOGIC, operand, operand) X(blsr64, 64, "q", T_BLSR, FL_LOGIC, operand, operand) \
  X(tzcnt16, 16, "w", T_TZCNT, FL_COUNT, operand, operand)                                          \
  X(tzcnt32, 32, "k", T_TZCNT, FL_COUNT, operand, operand)                                          \
  X(tzcnt64, 64, "q", T_TZCNT, FL_COUNT, operand, operand)                                          \
  X(lzcnt16, 16, "w", T_LZCNT, FL_COUNT, operand, operand)                                          \
  X(lzcnt32, 32, "k", T_LZCNT, FL_COUNT, operand, operand)                                          \
  X(lzcnt64, 64, "q", T_LZCNT, FL_COUNT, operand, operand)                                          \
  X(bzhi32, 32, "k", T_BZHI, FL_LOGIC, small_count, operand)                                        \
  X(bzhi64, 64, "q", T_BZHI, FL_LOGIC, small_count, operand)                                        \
  X(mulx32, 32, "k", T_MULX, F_ARITH, operand, operand) X(mulx64, 64, "q", T_MULX, F_ARITH, operand, operand) \
  X(pdep32, 32, "k", T_PDEP, F_ARITH, operand, operand) X(pdep64, 64, "q", T_PDEP, F_ARITH, operand, operand) \
  X(pext32, 32, "k", T_PEXT, F_ARITH, operand, operand) X(pext64, 64, "q", T_PEXT, F_ARITH, operand, operand) \
  X(rorx5_32, 32, "k", T_RORX5, F_ARITH, operand, operand)                                          \
  X(rorx31_64, 64, "q", T_RORX31, F_ARITH, operand, operand)                                        \
  X(rorx0_64, 64, "q", T_RORX0, F_ARITH, operand, operand)                                          \
  X(sarx32, 32, "k", T_SARX, F_ARITH, small_count, operand)                                         \
  X(sarx64, 64, "q", T_SARX, F_ARITH, small_count, operand)                                         \
  X(shlx32, 32, "k", T_SHLX, F_ARITH, small_count, operand)                                         \
  X(shlx64, 64, "q", T_SHLX, F_ARITH, small_count, operand)                                         \
  X(shrx32, 32, "k", T_SHRX, F_ARITH, small_count, operand)                                         \
  X(shrx64, 64, "q", T_SHRX, F_ARITH, small_count, operand)

/* Each case: register form and memory form, same inputs and input flags;
 * destinations start as random bits (a 16-bit write keeps the rest). */
#define BMI_FAMILY(name, bits, W, tmpl, fmask, gen_a, gen_t)                                        \
  static void test_##name(void) {                                                                   \
    if (!family(#name))                                                                             \
      return;                                                                                       \
    for (int i = 0; i < CASES; i++) {                                                               \
      uint64_t a = gen_a(bits), t = gen_t(bits), d0 = rnd64(), e0 = rnd64();                        \
      uint64_t d = d0, e = e0, dm = d0, em = e0, fin = flags_in(), fr = fin, fm = fin;              \
      __asm__ volatile(SET_FLAGS tmpl("%" W "[t]", W) "\n\t" GET_FLAGS                              \
                       : [d] "+r"(d), [e] "+r"(e), [fl] "+r"(fr)                                    \
                       : [a] "d"(a), [t] "r"(t)                                                     \
                       : "cc");                                                                     \
      __asm__ volatile(SET_FLAGS tmpl("(%[p])", W) "\n\t" GET_FLAGS                                 \
                       : [d] "+r"(dm), [e] "+r"(em), [fl] "+r"(fm)                                  \
                       : [a] "d"(a), [p] "r"(&t)                                                    \
                       : "cc", "memory");                                                           \
      out("a=%016" PRIx64 " t=%016" PRIx64 " f=%03" PRIx64 ": %016" PRIx64 " %016" PRIx64            \
          " %03" PRIx64 " mem %016" PRIx64 " %016" PRIx64 " %03" PRIx64, a, t, fin & F_ARITH, d, e,  \
          fr & fmask, dm, em, fm & fmask);                                                          \
    }                                                                                               \
    family_end();                                                                                   \
  }

BMI_OPS(BMI_FAMILY)

/* movbe loads and stores at 16, 32 and 64 bits (no flags change). */
static void test_movbe(void) {
  if (!family("movbe"))
    return;
  for (int i = 0; i < CASES; i++) {
    uint64_t src = operand(64), fin = flags_in(), fl = fin, w = rnd64(), k = rnd64(), q = rnd64();
    uint64_t st[3] = {rnd64(), rnd64(), rnd64()};
    __asm__ volatile(SET_FLAGS "movbe (%[p]), %w[w]\n\tmovbe (%[p]), %k[k]\n\tmovbe (%[p]), %q[q]\n\t"
                     "movbe %w[s], (%[o])\n\tmovbe %k[s], 8(%[o])\n\tmovbe %q[s], 16(%[o])\n\t"
                     GET_FLAGS
                     : [w] "+r"(w), [k] "+r"(k), [q] "+r"(q), [fl] "+r"(fl)
                     : [p] "r"(&src), [s] "r"(src), [o] "r"(st)
                     : "cc", "memory");
    out("s=%016" PRIx64 " f=%03" PRIx64 ": %016" PRIx64 " %016" PRIx64 " %016" PRIx64
        " st %016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %03" PRIx64,
        src, fin & F_ARITH, w, k, q, st[0], st[1], st[2], fl & F_ARITH);
  }
  family_end();
}

int main(int argc, char **argv) {
  insn_init(argc, argv);
  if (!require(CPU_BMI1 | CPU_BMI2 | CPU_LZCNT | CPU_MOVBE))
    return 0;
  BMI_OPS(AVX_CALL)
  test_movbe();
  return 0;
}
