/* insn_x87.c - the x87 floating-point unit.
 *
 * Exactly specified operations (fadd fsub fsubr fmul fdiv fdivr fsqrt fabs
 * fchs frndint fscale fxtract fprem fprem1, fild/fist/fistp/fisttp, fld and
 * fst to single and double, comparisons, fxam) run under random control
 * words (rounding and precision control) and print 80-bit results and the
 * status word bits C0-C3 and exception flags (except DE) in hex.
 * Transcendental instructions (fsin fcos fsincos fptan fpatan f2xm1 fyl2x
 * fyl2xp1) differ in the last bits between CPU models, so they print 12
 * significant digits. Then fnstcw/fldcw, fnstsw, fnstenv/fldenv with the
 * tag word, and an fxsave/fxrstor round trip. */
#include "insn_common.h"

typedef union {
  long double ld;
  struct {
    uint64_t mant;
    uint16_t se;
  } p;
  uint8_t bytes[16];
} x80;

#define SW_MASK 0x473d /* C3 C2 C1 C0, PE UE OE ZE IE (not DE, TOP, ES, B) */
#define XFMT "%04x:%016" PRIx64
#define XARG(v) (v).p.se, (v).p.mant

static x80 x80_random(void) {
  x80 v;
  memset(&v, 0, sizeof v);
  uint64_t r = rnd_below(10);
  if (r < 3) { /* any double, exactly */
    uint64_t bits = f64_bits();
    double d;
    memcpy(&d, &bits, 8);
    v.ld = d;
  } else if (r < 5) { /* small integers and halves */
    v.ld = (long double)((int64_t)rnd_below(2001) - 1000) / 4;
  } else if (r < 6) { /* specials: zero, inf, nan, denormals, max */
    static const struct {
      uint64_t m;
      uint16_t se;
    } sp[] = {{0, 0}, {0, 0x8000}, {1ull << 63, 0x7fff}, {1ull << 63, 0xffff},
              {3ull << 62, 0x7fff}, {5ull << 61, 0xffff}, {1, 0}, {0x7fffffffffffffffull, 0x8000},
              {~0ull, 0x7ffe}, {1ull << 63, 1}, {1ull << 63, 0x3fff}, {~0ull, 0x403e}};
    size_t k = rnd_below(sizeof sp / sizeof sp[0]);
    v.p.mant = sp[k].m;
    v.p.se = sp[k].se;
  } else { /* normal numbers with a full 64-bit significand */
    v.p.mant = rnd64() | (1ull << 63);
    v.p.se = (uint16_t)((16383 - 70 + rnd_below(140)) | (rnd_below(2) << 15));
  }
  return v;
}

/* A control word: all exceptions masked, random precision and rounding. */
static uint16_t random_cw(void) {
  static const uint16_t pc[] = {0x000, 0x200, 0x300, 0x300};
  return (uint16_t)(0x3f | 0x40 | pc[rnd_below(4)] | (rnd_below(4) << 10));
}

static const uint16_t default_cw = 0x37f;

/* Restricts st0 for a transcendental instruction to where its result is
 * defined and where CPU models agree to 12 digits: the argument reduction
 * of fsin & co. uses a 66-bit pi, so large arguments are avoided; f2xm1
 * needs |x| <= 1 and fyl2xp1 |x| < 1 - sqrt(2)/2. Specials are kept. */
static x80 approx_arg(const char *name, x80 a) {
  int special = (a.p.se & 0x7fff) == 0x7fff || (a.p.mant == 0);
  if (special && rnd_below(4) == 0)
    return a;
  long double unit = (long double)((int64_t)rnd_below(2000001) - 1000000) / 1e6L; /* [-1, 1] */
  if (!strcmp(name, "f2xm1"))
    a.ld = unit;
  else if (!strcmp(name, "fyl2xp1"))
    a.ld = unit * 0.29L;
  else if (!strcmp(name, "fpatan") || !strcmp(name, "fyl2x"))
    a.ld = rnd_below(2) ? a.ld : unit * 1000;
  else
    a.ld = unit * 20;
  return a;
}

/* Two-operand instructions that leave the result in st0: st0 = a, st1 = b.
 * The "popped" ones (fpatan, fyl2x, fyl2xp1) consume st1 themselves. */
#define BINARY_OPS(X)                                                   \
  X(fadd, "fadd %%st(1), %%st", 0, 0) X(fsub, "fsub %%st(1), %%st", 0, 0) \
  X(fsubr, "fsubr %%st(1), %%st", 0, 0) X(fmul, "fmul %%st(1), %%st", 0, 0) \
  X(fdiv, "fdiv %%st(1), %%st", 0, 0) X(fdivr, "fdivr %%st(1), %%st", 0, 0) \
  X(fprem, "fprem", 0, 0) X(fprem1, "fprem1", 0, 0) X(fscale, "fscale", 0, 0) \
  X(fpatan, "fpatan", 1, 1) X(fyl2x, "fyl2x", 1, 1) X(fyl2xp1, "fyl2xp1", 1, 1)

#define RUN_BINARY(name, insn, popped, approx)                                               \
  static void name##_run(const x80 *a, const x80 *b, x80 *r, uint16_t cw, uint16_t *sw) {    \
    __asm__ volatile("fldcw (%[cw])\n\tfnclex\n\tfldt (%[b])\n\tfldt (%[a])\n\t" insn "\n\t"  \
                     "fstpt (%[r])\n\t" /* result */                                          \
                     ".if " #popped " == 0\n\tfstp %%st(0)\n\t.endif\n\t"                    \
                     "fnstsw (%[sw])\n\tfldcw (%[dcw])\n\t"                                   \
                     :                                                                        \
                     : [a] "r"(a), [b] "r"(b), [r] "r"(r), [cw] "r"(&cw), [sw] "r"(sw),      \
                       [dcw] "r"(&default_cw)                                                 \
                     : "memory", "st", "st(1)");                                              \
  }
BINARY_OPS(RUN_BINARY)

static void print_result(char *dst, size_t n, const x80 *r, int approx) {
  if (!approx || r->p.se == 0x7fff || r->p.se == 0xffff)
    snprintf(dst, n, XFMT, XARG(*r));
  else
    snprintf(dst, n, "%.11Le", r->ld);
}

#define BINARY_FAMILY(name, insn, popped, approx)                                            \
  static void test_##name(void) {                                                             \
    if (!family(#name))                                                                        \
      return;                                                                                  \
    for (int i = 0; i < CASES; i++) {                                                          \
      x80 a = x80_random(), b = x80_random(), r;                                               \
      if (approx && i % 2) /* typical arguments as well as random ones */                     \
        b.ld = (long double)(rnd_below(1000000) + 1) / 1e4L;                                   \
      if (approx)                                                                              \
        a = approx_arg(#name, a);                                                              \
      memset(&r, 0, sizeof r);                                                                 \
      uint16_t cw = approx ? default_cw : random_cw(), sw = 0;                                \
      name##_run(&a, &b, &r, cw, &sw);                                                         \
      char res[64];                                                                            \
      print_result(res, sizeof res, &r, approx);                                               \
      out("a=" XFMT " b=" XFMT " cw=%03x: %s sw=%04x", XARG(a), XARG(b), cw, res,              \
          sw & (approx ? 0x4500 : SW_MASK));                                                   \
    }                                                                                          \
    family_end();                                                                              \
  }
BINARY_OPS(BINARY_FAMILY)

/* One-operand instructions. Those that push a second value store both. */
#define UNARY_OPS(X)                                                                   \
  X(fsqrt, "fsqrt", 0, 0) X(fabs, "fabs", 0, 0) X(fchs, "fchs", 0, 0)                 \
  X(frndint, "frndint", 0, 0) X(fxtract, "fxtract", 1, 0) X(fsin, "fsin", 0, 1)       \
  X(fcos, "fcos", 0, 1) X(fsincos, "fsincos", 1, 1) X(fptan, "fptan", 1, 1)           \
  X(f2xm1, "f2xm1", 0, 1)

#define RUN_UNARY(name, insn, pushes, approx)                                                 \
  static void name##_run(const x80 *a, x80 *r, x80 *r2, uint16_t cw, uint16_t *sw) {          \
    __asm__ volatile("fldcw (%[cw])\n\tfnclex\n\tfldt (%[a])\n\t" insn "\n\t"                 \
                     "fstpt (%[r])\n\t"                                                        \
                     ".if " #pushes "\n\tfstpt (%[r2])\n\t.endif\n\t"                          \
                     "fnstsw (%[sw])\n\tfldcw (%[dcw])\n\t"                                    \
                     :                                                                         \
                     : [a] "r"(a), [r] "r"(r), [r2] "r"(r2), [cw] "r"(&cw), [sw] "r"(sw),     \
                       [dcw] "r"(&default_cw)                                                  \
                     : "memory", "st", "st(1)");                                               \
  }
UNARY_OPS(RUN_UNARY)

#define UNARY_FAMILY(name, insn, pushes, approx)                                             \
  static void test_##name(void) {                                                             \
    if (!family(#name))                                                                        \
      return;                                                                                  \
    for (int i = 0; i < CASES; i++) {                                                          \
      x80 a = x80_random(), r, r2;                                                             \
      if (approx)                                                                              \
        a = approx_arg(#name, a);                                                              \
      memset(&r, 0, sizeof r);                                                                 \
      memset(&r2, 0, sizeof r2);                                                               \
      uint16_t cw = approx ? default_cw : random_cw(), sw = 0;                                \
      name##_run(&a, &r, &r2, cw, &sw);                                                        \
      char res[64], res2[64];                                                                  \
      print_result(res, sizeof res, &r, approx);                                               \
      print_result(res2, sizeof res2, &r2, approx);                                            \
      out("a=" XFMT " cw=%03x: %s %s sw=%04x", XARG(a), cw, res, pushes ? res2 : "-",          \
          sw & (approx ? 0x4500 : SW_MASK));                                                   \
    }                                                                                          \
    family_end();                                                                              \
  }
UNARY_OPS(UNARY_FAMILY)

static void test_conversions(void) {
  if (!family("fild_fist_fld_fst"))
    return;
  for (int i = 0; i < CASES; i++) {
    x80 a = x80_random();
    if (i % 3 == 0) /* values near integer limits */
      a.ld = (long double)(int64_t)operand(64) * (rnd_below(2) ? 1.0L : 0.5L);
    uint16_t cw = random_cw(), sw = 0;
    int16_t i16 = 0, t16 = 0;
    int32_t i32 = 0, t32 = 0;
    int64_t i64 = 0, t64 = 0;
    float f = 0;
    double d = 0;
    x80 back;
    memset(&back, 0, sizeof back);
    __asm__ volatile("fldcw (%[cw])\n\tfnclex\n\t"
                     "fldt (%[a])\n\tfistps (%[i16])\n\t"
                     "fldt (%[a])\n\tfistpl (%[i32])\n\t"
                     "fldt (%[a])\n\tfistpll (%[i64])\n\t"
                     "fldt (%[a])\n\tfisttps (%[t16])\n\t"
                     "fldt (%[a])\n\tfisttpl (%[t32])\n\t"
                     "fldt (%[a])\n\tfisttpll (%[t64])\n\t"
                     "fldt (%[a])\n\tfstps (%[f])\n\t"
                     "fldt (%[a])\n\tfstpl (%[d])\n\t"
                     "fildll (%[i64])\n\tfiaddl (%[i32])\n\tfstpt (%[back])\n\t"
                     "fnstsw (%[sw])\n\tfldcw (%[dcw])\n\t"
                     :
                     : [a] "r"(&a), [cw] "r"(&cw), [sw] "r"(&sw), [dcw] "r"(&default_cw),
                       [i16] "r"(&i16), [i32] "r"(&i32), [i64] "r"(&i64), [t16] "r"(&t16),
                       [t32] "r"(&t32), [t64] "r"(&t64), [f] "r"(&f), [d] "r"(&d),
                       [back] "r"(&back)
                     : "memory", "st");
    uint32_t fb;
    uint64_t db;
    memcpy(&fb, &f, 4);
    memcpy(&db, &d, 8);
    out("a=" XFMT " cw=%03x: fist %04x %08x %016" PRIx64 " fisttp %04x %08x %016" PRIx64
        " fst %08x %016" PRIx64 " fild+fiadd " XFMT " sw=%04x",
        XARG(a), cw, (uint16_t)i16, (uint32_t)i32, (uint64_t)i64, (uint16_t)t16, (uint32_t)t32,
        (uint64_t)t64, fb, db, XARG(back), sw & SW_MASK);
  }
  family_end();
}

static void test_compares(void) {
  if (!family("fcom_fucomi_fxam"))
    return;
  for (int i = 0; i < CASES; i++) {
    x80 a = x80_random(), b = rnd_below(4) ? x80_random() : a;
    uint16_t sw_com = 0, sw_ucom = 0, sw_tst = 0, sw_xam = 0;
    uint64_t fl_comi = 0x2 | (rnd64() & F_ARITH), fl_ucomi = fl_comi, fin = fl_comi;
    __asm__ volatile("fnclex\n\tfldt (%[b])\n\tfldt (%[a])\n\tfcom %%st(1)\n\tfnstsw (%[s1])\n\t"
                     "fnclex\n\tfucom %%st(1)\n\tfnstsw (%[s2])\n\t"
                     "fnclex\n\tftst\n\tfnstsw (%[s3])\n\t"
                     "fnclex\n\tfxam\n\tfnstsw (%[s4])\n\t"
                     "fstp %%st(0)\n\tfstp %%st(0)\n\t"
                     :
                     : [a] "r"(&a), [b] "r"(&b), [s1] "r"(&sw_com), [s2] "r"(&sw_ucom),
                       [s3] "r"(&sw_tst), [s4] "r"(&sw_xam)
                     : "memory", "st", "st(1)");
    __asm__ volatile("fldt (%[b])\n\tfldt (%[a])\n\t" SET_FLAGS "fcomi %%st(1), %%st\n\t" GET_FLAGS
                     "fstp %%st(0)\n\tfstp %%st(0)\n\t"
                     : [fl] "+r"(fl_comi)
                     : [a] "r"(&a), [b] "r"(&b)
                     : "memory", "cc", "st", "st(1)");
    __asm__ volatile("fldt (%[b])\n\tfldt (%[a])\n\t" SET_FLAGS "fucomi %%st(1), %%st\n\t" GET_FLAGS
                     "fstp %%st(0)\n\tfstp %%st(0)\n\tfnclex\n\t"
                     : [fl] "+r"(fl_ucomi)
                     : [a] "r"(&a), [b] "r"(&b)
                     : "memory", "cc", "st", "st(1)");
    out("a=" XFMT " b=" XFMT " f=%03" PRIx64 ": fcom %04x fucom %04x ftst %04x fxam %04x fcomi %03" PRIx64
        " fucomi %03" PRIx64,
        XARG(a), XARG(b), fin & F_ARITH, sw_com & 0x4501, sw_ucom & 0x4501, sw_tst & 0x4501,
        sw_xam & 0x4700, fl_comi & F_ARITH, fl_ucomi & F_ARITH);
  }
  family_end();
}

static void test_environment(void) {
  if (!family("fnstcw_fnstenv_fxsave"))
    return;
  for (int i = 0; i < 200; i++) {
    uint16_t cw = random_cw(), cw_back = 0, sw = 0;
    x80 a = x80_random(), b = x80_random();
    uint8_t env[28] __attribute__((aligned(16)));
    __asm__ volatile("fninit\n\tfldcw (%[cw])\n\tfldt (%[a])\n\tfldz\n\tfldt (%[b])\n\t"
                     "fld1\n\tfdivp\n\t" /* one division result kept: three values on the stack */
                     "fnstcw (%[cwb])\n\tfnstsw (%[sw])\n\tfnstenv (%[env])\n\t"
                     "fstp %%st(0)\n\tfstp %%st(0)\n\tfstp %%st(0)\n\tfldcw (%[dcw])\n\t"
                     :
                     : [cw] "r"(&cw), [a] "r"(&a), [b] "r"(&b), [cwb] "r"(&cw_back),
                       [sw] "r"(&sw), [env] "r"(env), [dcw] "r"(&default_cw)
                     : "memory", "st", "st(1)", "st(2)");
    uint16_t env_cw, env_sw, env_tw;
    memcpy(&env_cw, env, 2);
    memcpy(&env_sw, env + 4, 2);
    memcpy(&env_tw, env + 8, 2);
    /* fldenv: load a modified environment and read the control word back */
    uint16_t new_cw = random_cw(), after = 0;
    memcpy(env, &new_cw, 2);
    __asm__ volatile("fldenv (%[env])\n\tfnstcw (%[after])\n\tfninit\n\tfldcw (%[dcw])\n\t"
                     :
                     : [env] "r"(env), [after] "r"(&after), [dcw] "r"(&default_cw)
                     : "memory", "st", "st(1)", "st(2)");
    out("cw=%03x a=" XFMT " b=" XFMT ": fnstcw %04x fnstsw %04x env cw %04x sw %04x tw %04x"
        " fldenv cw %04x",
        cw, XARG(a), XARG(b), cw_back, sw & (SW_MASK | 0x3800), env_cw & 0x1f7f,
        env_sw & (SW_MASK | 0x3800), env_tw, after & 0x1f7f);
  }

  /* fxsave / fxrstor round trip */
  static uint8_t area[512] __attribute__((aligned(16)));
  static uint8_t area2[512] __attribute__((aligned(16)));
  for (int i = 0; i < 100; i++) {
    x80 a = x80_random(), b = x80_random(), s0, s1;
    vec128 v0 = vec_int(), v1 = vec_int(), r0, r1;
    uint32_t mxcsr = 0x1f80 | ((uint32_t)rnd_below(4) << 13) | (uint32_t)(rnd64() & 0x3f);
    uint16_t cw = random_cw();
    memset(area, 0, sizeof area);
    memset(area2, 0, sizeof area2);
    __asm__ volatile("fninit\n\tfldcw (%[cw])\n\tfldt (%[a])\n\tfldt (%[b])\n\t"
                     "ldmxcsr (%[mx])\n\tmovdqa (%[v0]), %%xmm0\n\tmovdqa (%[v1]), %%xmm1\n\t"
                     "fxsave (%[area])\n\t"
                     /* clobber everything the area holds */
                     "fninit\n\tpxor %%xmm0, %%xmm0\n\tpcmpeqb %%xmm1, %%xmm1\n\t"
                     "fxrstor (%[area])\n\t"
                     "fxsave (%[area2])\n\t"
                     "fstpt (%[s0])\n\tfstpt (%[s1])\n\t"
                     "movdqa %%xmm0, (%[r0])\n\tmovdqa %%xmm1, (%[r1])\n\t"
                     "fldcw (%[dcw])\n\tmovl $0x1f80, (%[mx])\n\tldmxcsr (%[mx])\n\t"
                     :
                     : [cw] "r"(&cw), [a] "r"(&a), [b] "r"(&b), [mx] "r"(&mxcsr), [v0] "r"(&v0),
                       [v1] "r"(&v1), [area] "r"(area), [area2] "r"(area2), [s0] "r"(&s0),
                       [s1] "r"(&s1), [r0] "r"(&r0), [r1] "r"(&r1), [dcw] "r"(&default_cw)
                     : "memory", "st", "st(1)", "xmm0", "xmm1");
    uint16_t fcw, fsw;
    uint32_t mx_saved;
    memcpy(&fcw, area, 2);
    memcpy(&fsw, area + 2, 2);
    memcpy(&mx_saved, area + 24, 4);
    x80 st0, st1;
    memset(&st0, 0, sizeof st0);
    memset(&st1, 0, sizeof st1);
    memcpy(&st0, area + 32, 10);
    memcpy(&st1, area + 48, 10);
    /* compare the register images of both saves (legacy area minus pointers) */
    int same = !memcmp(area + 32, area2 + 32, 8 * 16 + 16 * 16) && !memcmp(area, area2, 6);
    out("fcw %04x fsw %04x ftw %02x mxcsr %08x st0 " XFMT " st1 " XFMT " xmm0 " VFMT
        " xmm1 " VFMT " | restored st " XFMT " " XFMT " xmm " VFMT " " VFMT " same %d",
        fcw, fsw & (SW_MASK | 0x3800), area[4], mx_saved, XARG(st0), XARG(st1), VARG(v0), VARG(v1),
        XARG(s0), XARG(s1), VARG(r0), VARG(r1), same);
  }
  family_end();
}

#define RUN_FAMILY(name, ...) test_##name();

int main(int argc, char **argv) {
  insn_init(argc, argv);
  BINARY_OPS(RUN_FAMILY)
  UNARY_OPS(RUN_FAMILY)
  test_conversions();
  test_compares();
  test_environment();
  return 0;
}
