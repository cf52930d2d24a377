/* printf_float.c - printf/strtod of float, double and long double.
 *
 * Prints fixed interesting values (denormals, infinities, NaNs, -0.0,
 * extremes, halfway cases) and seeded random bit patterns with %f %e %g %a
 * in several precisions, then parses decimal strings back with strtod,
 * strtof and strtold. glibc's printf is exact, so any difference means the
 * emulated integer or floating-point arithmetic is off. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prng.h"

static double from_bits(uint64_t bits) {
  double d;
  memcpy(&d, &bits, sizeof d);
  return d;
}

static long double ld_from_parts(uint64_t mant, uint16_t sign_exp) {
  long double ld = 0;
  memcpy(&ld, &mant, 8);
  memcpy((char *)&ld + 8, &sign_exp, 2);
  return ld;
}

static void print_double(double d) {
  printf("%%f=%f %%.0f=%.0f %%.3e=%.3e %%e=%e %%g=%g %%.17g=%.17g %%a=%a %%.3a=%.3a "
         "%%+#.10g=%+#.10g %%12.4f=[%12.4f] %%-14e=[%-14e]\n",
         d, d, d, d, d, d, d, d, d, d, d);
}

static void print_float(float f) {
  printf("float %%f=%f %%e=%e %%.9g=%.9g %%a=%a\n", f, f, f, f);
}

static void print_long_double(long double x) {
  printf("ld %%Lf=%.4Lf %%Le=%Le %%.21Lg=%.21Lg %%La=%La %%.5La=%.5La\n", x, x, x, x, x);
}

int main(void) {
  static const double fixed[] = {
      0.0, 1.0, -1.0, 0.5, 0.1, 0.2, 0.3, 1.0 / 3.0, 2.0 / 3.0, 2.5, 3.5, -2.5,
      0.125, 1e-5, 1e-300, 1e300, 123456789.0, 9007199254740993.0, 4503599627370495.5,
      1.5e-323, 2.2250738585072009e-308, 2.2250738585072014e-308, DBL_MAX, DBL_MIN,
      DBL_EPSILON, 5e-324, 0.000123456789, 999999.5, 0.05, 0.15, 0.25, 0.35,
      1e21, 1e22, 1e23, 3.14159265358979323846, 2.71828182845904523536,
  };
  double d;
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
    print_double(fixed[i]);
    print_double(-fixed[i]);
  }
  print_double(INFINITY);
  print_double(-INFINITY);
  print_double(NAN);
  print_double(-NAN);
  print_double(from_bits(0x7ff0000000000001ULL)); /* signalling NaN */
  print_double(from_bits(0x000fffffffffffffULL)); /* largest denormal */
  print_double(from_bits(0x8000000000000001ULL)); /* -smallest denormal */

  prng_seed(1);
  for (int i = 0; i < 150; i++) {
    uint64_t bits = rnd64();
    if (i % 3 == 0) /* keep the exponent moderate so %f stays short */
      bits = (bits & 0x800fffffffffffffULL) | ((uint64_t)(1023 - 40 + rnd_below(80)) << 52);
    if (i % 7 == 0) /* denormals */
      bits &= 0x800fffffffffffffULL;
    d = from_bits(bits);
    print_double(d);
  }

  static const float ffixed[] = {0.0f, 1.0f, 0.1f, 1e-45f, 1.17549435e-38f, 3.4028235e38f,
                                 16777217.0f, 0.333333343f, 1e-40f};
  for (size_t i = 0; i < sizeof ffixed / sizeof ffixed[0]; i++) {
    print_float(ffixed[i]);
    print_float(-ffixed[i]);
  }
  print_float(INFINITY);
  print_float(NAN);
  for (int i = 0; i < 60; i++) {
    uint32_t bits = rnd32();
    float f;
    if (i % 2 == 0)
      bits = (bits & 0x807fffffu) | ((uint32_t)(127 - 30 + rnd_below(60)) << 23);
    memcpy(&f, &bits, sizeof f);
    print_float(f);
  }

  static const long double lfixed[] = {0.0L, 1.0L, 0.1L, 1.0L / 3.0L, LDBL_MAX, LDBL_MIN,
                                       LDBL_EPSILON, 3.36210314311209350626e-4932L,
                                       1e4000L, 1e-4000L, 18446744073709551615.0L};
  for (size_t i = 0; i < sizeof lfixed / sizeof lfixed[0]; i++) {
    print_long_double(lfixed[i]);
    print_long_double(-lfixed[i]);
  }
  print_long_double((long double)INFINITY);
  print_long_double((long double)NAN);
  print_long_double(ld_from_parts(1, 0));                       /* smallest denormal */
  print_long_double(ld_from_parts(0x7fffffffffffffffULL, 0x8000)); /* -largest denormal */
  for (int i = 0; i < 60; i++) {
    uint64_t mant = rnd64() | 0x8000000000000000ULL;
    uint16_t exp = (uint16_t)(16383 - 60 + rnd_below(120));
    if (i % 5 == 0)
      exp = (uint16_t)(1 + rnd_below(0x7ffe));
    if (i % 2)
      exp |= 0x8000;
    print_long_double(ld_from_parts(mant, exp));
  }

  static const char *inputs[] = {
      "0", "-0", "1e-400", "2.4703282292062327e-324", "2.4703282292062328e-324",
      "1.7976931348623157e308", "1.7976931348623159e308", "0x1.fffffffffffffp-1",
      "0.1", "3.141592653589793238462643383279", "inf", "-Infinity", "nan", "nan(123)",
      "1e23", "8.98846567431158e307", "4.9406564584124654e-324", "123.456e-2", "  42abc",
      "0x1p-1074", "0x1.8p1", "1e-4950", "1.18973149535723176502e+4932",
  };
  for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
    char *end;
    double pd = strtod(inputs[i], &end);
    float pf = strtof(inputs[i], NULL);
    long double pl = strtold(inputs[i], NULL);
    printf("parse \"%s\": d=%a f=%a ld=%La consumed=%d\n", inputs[i], pd, pf, pl,
           (int)(end - inputs[i]));
  }
  char buf[64];
  int roundtrip_failures = 0;
  for (int i = 0; i < 2000; i++) {
    d = from_bits(rnd64() & 0x7fefffffffffffffULL);
    snprintf(buf, sizeof buf, "%.17g", d);
    if (strtod(buf, NULL) != d)
      roundtrip_failures++;
  }
  printf("round trip failures: %d\n", roundtrip_failures);
  return roundtrip_failures != 0;
}
