/* insn_common.h - shared machinery for the instruction-family programs.
 *
 * Each program runs "families" of test cases (one instruction at one
 * operand size, say). Cases draw seeded random operands with extra weight
 * on edge values, run the instruction in inline assembly with chosen input
 * flags, and emit one line of hex results. Per family, the first
 * FULL_LINES lines are printed, then a running hash every HASH_EVERY
 * cases and a summary at the end, which keeps the output small while
 * still pinpointing the first differing window.
 *
 * Run a program with -v to print every case line, and with a family-name
 * prefix to run only matching families: `insn_alu -v add32`.
 *
 * Arithmetic flags are compared only where the architecture defines them:
 * callers mask out the flags an instruction leaves undefined, since those
 * differ between CPU vendors and an emulator need not reproduce them. */
#ifndef TERN_INSN_COMMON_H
#define TERN_INSN_COMMON_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prng.h"

#define F_CF 0x001
#define F_PF 0x004
#define F_AF 0x010
#define F_ZF 0x040
#define F_SF 0x080
#define F_DF 0x400
#define F_OF 0x800
#define F_ARITH 0x8d5 /* OF SF ZF AF PF CF */

#define FULL_LINES 12
#define HASH_EVERY 250
#define CASES 2000

/* Inline-assembly fragments that load RFLAGS from operand %[fl] and store
 * it back. The stack pointer first steps over the 128-byte red zone, where
 * the compiler may keep locals; operands must therefore not be memory
 * references relative to %rsp (use registers and pointers in registers). */
#define SET_FLAGS "lea -128(%%rsp), %%rsp\n\tpushq %[fl]\n\tpopfq\n\t"
#define GET_FLAGS "pushfq\n\tpopq %[fl]\n\tlea 128(%%rsp), %%rsp\n\t"

static int insn_verbose;
static const char *insn_filter;
static const char *fam_name;
static unsigned long fam_cases;
static uint64_t fam_hash;

static inline void insn_init(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-v"))
      insn_verbose = 1;
    else
      insn_filter = argv[i];
  }
}

/* Starts a family; returns 0 if the command-line filter excludes it. The
 * generator is reseeded from the name so every family is reproducible on
 * its own. */
static inline int family(const char *name) {
  if (insn_filter && strncmp(name, insn_filter, strlen(insn_filter)) != 0)
    return 0;
  fam_name = name;
  fam_cases = 0;
  fam_hash = fnv_bytes(FNV_INIT, name, strlen(name));
  prng_seed(fam_hash);
  return 1;
}

/* Emits one case line (printf format, no newline). */
__attribute__((format(printf, 1, 2))) static inline void out(const char *fmt, ...) {
  char line[1536];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n < 0)
    n = 0;
  if (n >= (int)sizeof line)
    n = (int)sizeof line - 1;
  fam_hash = fnv_bytes(fam_hash, line, (size_t)n);
  fam_hash = fnv_bytes(fam_hash, "\n", 1);
  fam_cases++;
  if (insn_verbose || fam_cases <= FULL_LINES)
    printf("%s %s\n", fam_name, line);
  else if (fam_cases % HASH_EVERY == 0)
    printf("%s after %lu cases: %016" PRIx64 "\n", fam_name, fam_cases, fam_hash);
}

static inline void family_end(void) {
  printf("%s: %lu cases, hash %016" PRIx64 "\n", fam_name, fam_cases, fam_hash);
}

static const uint64_t edge_values[] = {
    0, 1, 2, 3, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff,
    0x80000000, 0xffffffff, 0x100000000ull, 0x7fffffffffffffffull, 0x8000000000000000ull,
    0xffffffffffffffffull, 0xfffffffffffffffeull, 0x8000000000000001ull, 0x5555555555555555ull,
    0xaaaaaaaaaaaaaaaaull, 0x0123456789abcdefull};
#define N_EDGES (sizeof edge_values / sizeof edge_values[0])

static inline uint64_t width_mask(int bits) { return bits == 64 ? ~0ull : (1ull << bits) - 1; }

/* A random operand of the given width: edge values, small positive and
 * negative numbers, sign-boundary neighbours and plain random bits. */
static inline uint64_t operand(int bits) {
  uint64_t v, r = rnd_below(16);
  uint64_t sign = 1ull << (bits - 1);
  if (r < 4)
    v = edge_values[rnd_below(N_EDGES)];
  else if (r < 6)
    v = rnd_below(20);
  else if (r < 7)
    v = 0 - rnd_below(20);
  else if (r < 8)
    v = sign + rnd_below(5) - 2;
  else if (r < 9)
    v = rnd64() >> rnd_below(64);
  else
    v = rnd64();
  return v & width_mask(bits);
}

/* Random input arithmetic flags (bit 1 of RFLAGS is always set). */
static inline uint64_t flags_in(void) { return 0x2 | (rnd64() & F_ARITH); }

/* Shift and rotate counts: mostly 0..70, sometimes any byte. */
static inline uint8_t count_operand(void) {
  return (uint8_t)(rnd_below(8) ? rnd_below(71) : rnd64());
}

/* 16-byte vector values are passed around as this union. */
typedef union {
  uint8_t b[16];
  uint16_t w[8];
  uint32_t d[4];
  uint64_t q[2];
  float f[4];
  double df[2];
} __attribute__((aligned(16))) vec128;

static const uint32_t f32_specials[] = {
    0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000, 0x7fc00000,
    0xffc00000, 0x7fa00001, 0x7fc12345, 0x00000001, 0x807fffff, 0x00800000, 0x7f7fffff,
    0x3f000000, 0x4b800001, 0x4f000000, 0xcf000000, 0x3fc00000, 0x40200000, 0xc0200000,
    0x5f000000, 0xdf000000, 0x3eaaaaab};
static const uint64_t f64_specials[] = {
    0x0000000000000000ull, 0x8000000000000000ull, 0x3ff0000000000000ull, 0xbff0000000000000ull,
    0x7ff0000000000000ull, 0xfff0000000000000ull, 0x7ff8000000000000ull, 0xfff8000000000000ull,
    0x7ff4000000000001ull, 0x7ff8000000012345ull, 0x0000000000000001ull, 0x800fffffffffffffull,
    0x0010000000000000ull, 0x7fefffffffffffffull, 0x3fe0000000000000ull, 0x4330000000000001ull,
    0x41e0000000000000ull, 0xc1e0000000000000ull, 0x43e0000000000000ull, 0xc3e0000000000000ull,
    0x3ff8000000000000ull, 0x4004000000000000ull, 0xc004000000000000ull, 0x3fd5555555555555ull};

/* A random float bit pattern: specials, small "nice" values, moderate
 * magnitudes, or raw bits. */
static inline uint32_t f32_bits(void) {
  uint64_t r = rnd_below(8);
  float f;
  uint32_t u;
  if (r < 2)
    return f32_specials[rnd_below(sizeof f32_specials / sizeof f32_specials[0])];
  if (r < 4) {
    f = (float)((int64_t)rnd_below(4001) - 2000) / 8.0f;
    memcpy(&u, &f, 4);
    return u;
  }
  if (r < 6) /* exponent within +-40 of 1.0 */
    return (rnd32() & 0x807fffffu) | ((uint32_t)(127 - 40 + rnd_below(80)) << 23);
  return rnd32();
}

static inline uint64_t f64_bits(void) {
  uint64_t r = rnd_below(8);
  double d;
  uint64_t u;
  if (r < 2)
    return f64_specials[rnd_below(sizeof f64_specials / sizeof f64_specials[0])];
  if (r < 4) {
    d = (double)((int64_t)rnd_below(4001) - 2000) / 8.0;
    memcpy(&u, &d, 8);
    return u;
  }
  if (r < 6)
    return (rnd64() & 0x800fffffffffffffull) | ((uint64_t)(1023 - 60 + rnd_below(120)) << 52);
  return rnd64();
}

static inline vec128 vec_f32(void) {
  vec128 v;
  for (int i = 0; i < 4; i++)
    v.d[i] = f32_bits();
  return v;
}

static inline vec128 vec_f64(void) {
  vec128 v;
  for (int i = 0; i < 2; i++)
    v.q[i] = f64_bits();
  return v;
}

/* Integer vector: random bytes, or lanes of edge values. */
static inline vec128 vec_int(void) {
  vec128 v;
  uint64_t r = rnd_below(4);
  for (int i = 0; i < 2; i++)
    v.q[i] = rnd64();
  if (r == 0)
    for (int i = 0; i < 16; i++)
      v.b[i] = (uint8_t)edge_values[rnd_below(N_EDGES)];
  else if (r == 1)
    for (int i = 0; i < 8; i++)
      v.w[i] = (uint16_t)edge_values[rnd_below(N_EDGES)];
  else if (r == 2)
    for (int i = 0; i < 4; i++)
      v.d[i] = (uint32_t)(rnd_below(3) ? edge_values[rnd_below(N_EDGES)] : rnd64());
  return v;
}

#define VFMT "%016" PRIx64 "%016" PRIx64
#define VARG(v) (v).q[1], (v).q[0]

#endif
