/* fenv.c - rounding modes (fesetround) and exception flags (fetestexcept).
 *
 * For each rounding mode, exact IEEE operations (division, sqrt, narrowing
 * conversions, rint, float-to-int conversion) are done in float, double and
 * long double; printf and strtod also honour the mode. Then each exception
 * flag is raised by a chosen operation and read back, the fenv save/restore
 * calls are exercised, and an unmasked divide-by-zero delivers SIGFPE. */
#define _GNU_SOURCE
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* volatile keeps gcc from folding the operations at compile time */
static volatile double d_one = 1.0, d_two = 2.0, d_three = 3.0, d_ten = 10.0, d_zero = 0.0;
static volatile double d_max = DBL_MAX, d_min = DBL_MIN, d_neg = -1.0, d_big = 1e10;
static volatile float f_one = 1.0f, f_three = 3.0f;
static volatile long double l_one = 1.0L, l_three = 3.0L, l_two = 2.0L;

static const char *flags_str(int f) {
  static char buf[64];
  snprintf(buf, sizeof buf, "%s%s%s%s%s%s", f & FE_INVALID ? " INVALID" : "",
           f & FE_DIVBYZERO ? " DIVBYZERO" : "", f & FE_OVERFLOW ? " OVERFLOW" : "",
           f & FE_UNDERFLOW ? " UNDERFLOW" : "", f & FE_INEXACT ? " INEXACT" : "",
           f & FE_ALL_EXCEPT ? "" : " none");
  return buf;
}

static void in_mode(int mode, const char *name) {
  if (fesetround(mode) != 0) {
    printf("fesetround(%s) failed\n", name);
    exit(1);
  }
  printf("mode %s: fegetround ok=%d\n", name, fegetround() == mode);
  volatile double q = d_one / d_three;
  volatile double nq = -d_one / d_three;
  printf(" 1/3=%a -1/3=%a 2/3=%a\n", q, nq, d_two / d_three);
  printf(" f 1/3=%a l 1/3=%La l 2/3=%La\n", (double)(f_one / f_three), l_one / l_three,
         l_two / l_three);
  printf(" sqrt2=%a sqrtf2=%a sqrtl2=%La\n", sqrt(d_two), (double)sqrtf((float)d_two),
         sqrtl(l_two));
  printf(" (float)(1/3)=%a (double)(1/3l)=%a (float)(-1/3l)=%a\n", (double)(float)q,
         (double)(l_one / l_three), (double)(float)(-l_one / l_three));
  static const double vals[] = {0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, -7.75, 1e15 + 0.5};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    volatile double v = vals[i];
    volatile long double lv = vals[i];
    printf(" v=%g rint=%g nearbyint=%g lrint=%ld llrintl=%lld rintf=%g (long)v=%ld %.0f %.1f\n",
           v, rint(v), nearbyint(v), lrint(v), llrintl(lv), (double)rintf((float)v), (long)v,
           v, v);
  }
  printf(" sum=%a prod=%a\n", d_max * 0.5 + d_max * 0.5, d_min * d_min * 1e300);
  printf(" printf 1/3=%.5f 2/3=%.5f -2/3=%.5f 0.125=%.2f\n", q, d_two / d_three,
         -d_two / d_three, 0.125);
  printf(" strtod 0.1=%a strtof 0.1=%a strtold 0.1=%La\n", strtod("0.1", NULL),
         (double)strtof("0.1", NULL), strtold("0.1", NULL));
  printf(" int->float 16777217=%a 2^63-1 ->double=%a\n", (double)(float)(volatile int){16777217},
         (double)(volatile long){0x7fffffffffffffffL});
  fesetround(FE_TONEAREST);
}

#define CHECK(label, expr)                                   \
  do {                                                       \
    feclearexcept(FE_ALL_EXCEPT);                            \
    volatile long double sink_ = (expr);                     \
    (void)sink_;                                             \
    printf("%-22s -> %s\n", label, flags_str(fetestexcept(FE_ALL_EXCEPT))); \
  } while (0)

static sigjmp_buf fpe_env;

__attribute__((unused)) static void on_fpe(int sig, siginfo_t *info, void *ctx) {
  (void)ctx;
  printf("caught signal %d code %s\n", sig, info->si_code == FPE_FLTDIV ? "FPE_FLTDIV" : "other");
  siglongjmp(fpe_env, 1);
}

int main(void) {
  in_mode(FE_TONEAREST, "nearest");
  in_mode(FE_DOWNWARD, "downward");
  in_mode(FE_UPWARD, "upward");
  in_mode(FE_TOWARDZERO, "towardzero");

  CHECK("exact add", d_one + d_two);
  CHECK("1/3", d_one / d_three);
  CHECK("1/0", d_one / d_zero);
  CHECK("0/0", d_zero / d_zero);
  CHECK("max*10", d_max * d_ten);
  CHECK("min/3", d_min / d_three);
  CHECK("min*min", d_min * d_min);
  CHECK("sqrt(-1)", sqrt(d_neg));
  CHECK("(int)1e10", (int)d_big);
  CHECK("(long)1e10", (long)d_big);
  CHECK("(float)max", (float)d_max);
  CHECK("float 1/3", f_one / f_three);
  CHECK("long double 1/3", l_one / l_three);
  CHECK("long double 1/0", l_one / (long double)d_zero);
  CHECK("long double 0/0", (long double)d_zero / (long double)d_zero);
  CHECK("log(0)", log(d_zero));
  CHECK("exp(1000)", exp(d_ten * 100));
  CHECK("exp(-1000)", exp(-d_ten * 100));
  CHECK("nearbyint(2.5)", nearbyint(d_two + 0.5));
  CHECK("rint(2.5)", rint(d_two + 0.5));

  feclearexcept(FE_ALL_EXCEPT);
  feraiseexcept(FE_OVERFLOW | FE_INEXACT);
  printf("raised: %s\n", flags_str(fetestexcept(FE_ALL_EXCEPT)));
  fexcept_t saved;
  fegetexceptflag(&saved, FE_ALL_EXCEPT);
  feclearexcept(FE_ALL_EXCEPT);
  printf("cleared: %s\n", flags_str(fetestexcept(FE_ALL_EXCEPT)));
  fesetexceptflag(&saved, FE_OVERFLOW);
  printf("restored overflow only: %s\n", flags_str(fetestexcept(FE_ALL_EXCEPT)));

  fenv_t env;
  fesetround(FE_UPWARD);
  feholdexcept(&env);
  volatile double t = d_one / d_zero;
  printf("held: round=%d flags=%s inf=%d\n", fegetround() == FE_UPWARD,
         flags_str(fetestexcept(FE_ALL_EXCEPT)), isinf(t));
  feupdateenv(&env);
  printf("updated: round=%d flags=%s\n", fegetround() == FE_UPWARD,
         flags_str(fetestexcept(FE_ALL_EXCEPT)));
  fesetenv(FE_DFL_ENV);
  printf("default env: round=%d flags=%s\n", fegetround() == FE_TONEAREST,
         flags_str(fetestexcept(FE_ALL_EXCEPT)));

#ifdef WITH_SIGNALS
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fpe;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGFPE, &sa, NULL);
  if (sigsetjmp(fpe_env, 1) == 0) {
    feenableexcept(FE_DIVBYZERO);
    volatile double boom = d_one / d_zero;
    printf("no signal: %g\n", boom);
  }
#endif
  fedisableexcept(FE_ALL_EXCEPT);
  feclearexcept(FE_ALL_EXCEPT);
  printf("after trap: enabled=%d flags=%s\n", fegetexcept(), flags_str(fetestexcept(FE_ALL_EXCEPT)));
  return 0;
}
