/* libm.c - the maths library in float, double and long double.
 *
 * Functions that IEEE 754 defines exactly (sqrt, fmod, fma, rint, ...) are
 * printed exactly with %a. Transcendental functions are printed with a few
 * digits fewer than the type holds: glibc picks their implementation by
 * CPU features (FMA, AVX2) and uses x87 transcendental instructions for
 * long double, so the last bit may legitimately differ on another CPU model,
 * while any real emulation error still shows. NaN signs are not printed for
 * the same reason. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "prng.h"

static void pf(const char *name, float x) {
  if (isnan(x))
    printf(" %s=nan", name);
  else
    printf(" %s=%.5e", name, (double)x);
}

static void pd(const char *name, double x) {
  if (isnan(x))
    printf(" %s=nan", name);
  else
    printf(" %s=%.12e", name, x);
}

static void pl(const char *name, long double x) {
  if (isnan(x))
    printf(" %s=nan", name);
  else
    printf(" %s=%.14Le", name, x);
}

/* Exact results: every bit must match. */
static void xd(const char *name, double x) { printf(" %s=%a", name, isnan(x) ? NAN : x); }
static void xf(const char *name, float x) { printf(" %s=%a", name, isnan(x) ? NAN : (double)x); }
static void xl(const char *name, long double x) {
  printf(" %s=%La", name, isnan(x) ? (long double)NAN : x);
}

/* One-argument function in all three precisions, approximate output. */
#define UNARY(fn, x)            \
  do {                          \
    pf(#fn "f", fn##f((float)(x))); \
    pd(#fn, fn(x));             \
    pl(#fn "l", fn##l((long double)(x))); \
  } while (0)

/* One-argument function in all three precisions, exact output. */
#define UNARY_EXACT(fn, x)           \
  do {                               \
    xf(#fn "f", fn##f((float)(x)));  \
    xd(#fn, fn(x));                  \
    xl(#fn "l", fn##l((long double)(x))); \
  } while (0)

static void one(double x) {
  printf("x=%a:", x);
  UNARY(sin, x);
  UNARY(cos, x);
  UNARY(tan, x);
  UNARY(exp, x);
  UNARY(log, x);
  UNARY(cbrt, x);
  UNARY(erf, x);
  UNARY(erfc, x);
  UNARY(atan, x);
  UNARY(sinh, x);
  UNARY(tanh, x);
  UNARY(expm1, x);
  UNARY(log1p, x);
  UNARY(log2, x);
  UNARY(log10, x);
  UNARY(exp2, x);
  UNARY(asin, x);
  UNARY(acos, x);
  int sign_f, sign_d, sign_l;
  pf("lgammaf", lgammaf_r((float)x, &sign_f));
  pd("lgamma", lgamma_r(x, &sign_d));
  pl("lgammal", lgammal_r((long double)x, &sign_l));
  printf(" signs=%d,%d,%d", sign_f, sign_d, sign_l);
  UNARY(tgamma, x);
  UNARY_EXACT(sqrt, x);
  UNARY_EXACT(floor, x);
  UNARY_EXACT(ceil, x);
  UNARY_EXACT(trunc, x);
  UNARY_EXACT(round, x);
  UNARY_EXACT(rint, x);
  UNARY_EXACT(nearbyint, x);
  UNARY_EXACT(fabs, x);
  UNARY_EXACT(logb, x);
  if (isfinite(x) && fabs(x) < 1e18)
    printf(" lrint=%ld llround=%lld lroundl=%ld", lrint(x), llround(x), lroundl((long double)x));
  int e;
  double m = frexp(x, &e);
  double ip;
  double frac = modf(x, &ip);
  printf(" frexp=%a,%d modf=%a,%a ilogb=%d\n", m, e, frac, ip, ilogb(x));
}

static void two(double x, double y) {
  printf("x=%a y=%a:", x, y);
  pf("powf", powf((float)x, (float)y));
  pd("pow", pow(x, y));
  pl("powl", powl((long double)x, (long double)y));
  pf("atan2f", atan2f((float)x, (float)y));
  pd("atan2", atan2(x, y));
  pl("atan2l", atan2l((long double)x, (long double)y));
  pd("hypot", hypot(x, y));
  xf("fmodf", fmodf((float)x, (float)y));
  xd("fmod", fmod(x, y));
  xl("fmodl", fmodl((long double)x, (long double)y));
  xd("remainder", remainder(x, y));
  int q;
  double r = remquo(x, y, &q);
  printf(" remquo=%a,%d", isnan(r) ? NAN : r, isnan(r) ? 0 : q & 7);
  xd("fma", fma(x, y, 1.0 / 3.0));
  xf("fmaf", fmaf((float)x, (float)y, 0.1f));
  xl("fmal", fmal((long double)x, (long double)y, 0.1L));
  xd("fmin", fmin(x, y));
  xd("fmax", fmax(x, y));
  xd("fdim", fdim(x, y));
  xd("copysign", copysign(x, y));
  xd("nextafter", nextafter(x, y));
  xl("nextafterl", nextafterl((long double)x, (long double)y));
  xd("ldexp", ldexp(x, (int)fmod(y, 2000.0)));
  putchar('\n');
}

int main(void) {
  static const double fixed[] = {0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, 3.0, 10.0, 0.1,
                                 1e-310, 1e-20, 1e20, 700.0, -700.0, 710.0, -745.5,
                                 3.141592653589793, 1.5707963267948966, 100.0, 1e6,
                                 2.5, -2.5, 3.5, 0.49999999999999994, 4503599627370497.0,
                                 -3.75, 171.5, -171.5, 0.999, INFINITY, -INFINITY, NAN};
  size_t n = sizeof fixed / sizeof fixed[0];
  for (size_t i = 0; i < n; i++)
    one(fixed[i]);
  prng_seed(7);
  for (int i = 0; i < 80; i++) {
    double x = ((double)(int64_t)rnd64() / 9.2233720368547758e18) * (i % 2 ? 10.0 : 1000.0);
    one(x);
  }
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j += 3)
      two(fixed[i], fixed[j]);
  for (int i = 0; i < 150; i++) {
    double x = (double)(rnd64() >> 11) / 9007199254740992.0 * 20.0 - 5.0;
    double y = (double)(rnd64() >> 11) / 9007199254740992.0 * 16.0 - 8.0;
    two(x, y);
  }
  return 0;
}
