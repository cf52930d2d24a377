/* intmath.c - integer arithmetic as compiled C: 64 and 128-bit
 * multiplication and division (__int128 goes through libgcc's __divti3
 * and friends), division by constants (turned into multiply-high and
 * shift sequences), overflow builtins, and the bit builtins
 * popcount/clz/ctz/ffs/parity/bswap plus rotates. Results are summarised
 * per category with a hash; the first cases are printed in full. */
#include <inttypes.h>
#include <stdio.h>

#include "prng.h"

typedef unsigned __int128 u128;
typedef __int128 i128;

static const uint64_t edges[] = {0, 1, 2, 3, 7, 10, 0x7f, 0x80, 0xff, 0x7fffffff, 0x80000000,
                                 0xffffffff, 0x100000000, 0x7fffffffffffffff,
                                 0x8000000000000000, 0xffffffffffffffff, 0xfffffffffffffffe,
                                 0x5555555555555555, 0xaaaaaaaaaaaaaaaa, 1000000007};

static uint64_t operand(void) {
  uint64_t r = rnd_below(8);
  if (r == 0)
    return edges[rnd_below(sizeof edges / sizeof edges[0])];
  if (r == 1)
    return rnd_below(1000);
  if (r == 2)
    return (uint64_t) - (int64_t)rnd_below(1000);
  if (r == 3)
    return rnd64() >> rnd_below(64);
  return rnd64();
}

struct cat {
  const char *name;
  int shown;
  uint64_t hash;
  unsigned long count;
};

static void emit(struct cat *c, const char *line) {
  c->count++;
  for (const char *p = line; *p; p++)
    c->hash = fnv_u64(c->hash, (unsigned char)*p);
  if (c->shown < 12) {
    c->shown++;
    printf("%s: %s\n", c->name, line);
  }
}

static void done(const struct cat *c) {
  printf("%s: %lu cases hash %016" PRIx64 "\n", c->name, c->count, c->hash);
}

#define HEX128(v) (uint64_t)((u128)(v) >> 64), (uint64_t)(v)

__attribute__((noinline)) static uint64_t div_consts(uint64_t x, int64_t s, uint32_t w) {
  uint64_t h = FNV_INIT;
  h = fnv_u64(h, x / 3);
  h = fnv_u64(h, x % 3);
  h = fnv_u64(h, x / 7);
  h = fnv_u64(h, x % 10);
  h = fnv_u64(h, x / 1000);
  h = fnv_u64(h, x / 641);
  h = fnv_u64(h, x / 0x123456789ull);
  h = fnv_u64(h, x / 4096);
  h = fnv_u64(h, (uint64_t)(s / 3));
  h = fnv_u64(h, (uint64_t)(s % 3));
  h = fnv_u64(h, (uint64_t)(s / -7));
  h = fnv_u64(h, (uint64_t)(s / 16));
  h = fnv_u64(h, (uint64_t)(s % 16));
  h = fnv_u64(h, (uint64_t)(s / 1000000007));
  h = fnv_u64(h, w / 3);
  h = fnv_u64(h, w % 7);
  h = fnv_u64(h, w / 10);
  h = fnv_u64(h, (uint64_t)((int32_t)w / 5));
  h = fnv_u64(h, (uint64_t)((int32_t)w % -9));
  h = fnv_u64(h, (uint64_t)((uint16_t)w / 13));
  h = fnv_u64(h, (uint64_t)((int8_t)w / 3));
  return h;
}

int main(void) {
  char line[256];
  prng_seed(31337);
  struct cat mul = {"mul128", 0, FNV_INIT, 0}, dv = {"div64", 0, FNV_INIT, 0},
             d128 = {"div128", 0, FNV_INIT, 0}, dc = {"divconst", 0, FNV_INIT, 0},
             bits = {"bits", 0, FNV_INIT, 0}, ovf = {"overflow", 0, FNV_INIT, 0},
             narrow = {"narrow", 0, FNV_INIT, 0};
  for (int i = 0; i < 4000; i++) {
    uint64_t a = operand(), b = operand();
    int64_t sa = (int64_t)a, sb = (int64_t)b;

    u128 pu = (u128)a * b;
    i128 ps = (i128)sa * sb;
    snprintf(line, sizeof line, "%016" PRIx64 " * %016" PRIx64 " = u %016" PRIx64 "%016" PRIx64
             " s %016" PRIx64 "%016" PRIx64 " lo %016" PRIx64,
             a, b, HEX128(pu), HEX128(ps), a * b);
    emit(&mul, line);

    if (b) {
      int64_t q = (sb == -1) ? (int64_t)(0 - (uint64_t)sa) : sa / sb; /* avoid INT64_MIN / -1 */
      int64_t r = (sb == -1) ? 0 : sa % sb;
      snprintf(line, sizeof line, "%016" PRIx64 " / %016" PRIx64 " = u %" PRIu64 " r %" PRIu64
               " s %" PRId64 " r %" PRId64, a, b, a / b, a % b, q, r);
      emit(&dv, line);
    }

    u128 wide = ((u128)a << 64) | operand();
    u128 divisor = rnd_below(3) ? (u128)(b | 1) : (((u128)b << 64) | operand() | 1);
    i128 swide = (i128)wide, sdiv = (i128)divisor;
    if (sdiv == -1)
      sdiv = 3;
    snprintf(line, sizeof line, "%016" PRIx64 "%016" PRIx64 " / %016" PRIx64 "%016" PRIx64
             " = %016" PRIx64 "%016" PRIx64 " r %016" PRIx64 "%016" PRIx64 " s %016" PRIx64
             "%016" PRIx64 " r %016" PRIx64 "%016" PRIx64,
             HEX128(wide), HEX128(divisor), HEX128(wide / divisor), HEX128(wide % divisor),
             HEX128(swide / sdiv), HEX128(swide % sdiv));
    emit(&d128, line);

    snprintf(line, sizeof line, "%016" PRIx64 " -> %016" PRIx64, a,
             div_consts(a, sa, (uint32_t)b));
    emit(&dc, line);

    uint32_t a32 = (uint32_t)a;
    unsigned r = (unsigned)(b & 63);
    snprintf(line, sizeof line,
             "%016" PRIx64 " pop %d/%d clz %d/%d ctz %d/%d ffs %d par %d clrsb %d bswap %016" PRIx64
             "/%08x/%04x rol%u %016" PRIx64 " ror %016" PRIx64 " rol32 %08x",
             a, __builtin_popcountll(a), __builtin_popcount(a32), a ? __builtin_clzll(a) : -1,
             a32 ? __builtin_clz(a32) : -1, a ? __builtin_ctzll(a) : -1,
             a32 ? __builtin_ctz(a32) : -1, __builtin_ffsll((long long)a), __builtin_parityll(a),
             __builtin_clrsbll((long long)a), __builtin_bswap64(a), __builtin_bswap32(a32),
             __builtin_bswap16((uint16_t)a), r, (a << r) | (a >> ((64 - r) & 63)),
             (a >> r) | (a << ((64 - r) & 63)), (a32 << (r & 31)) | (a32 >> ((32 - r) & 31)));
    emit(&bits, line);

    int64_t sr;
    uint64_t ur;
    int32_t s32;
    int o1 = __builtin_add_overflow(sa, sb, &sr);
    int o2 = __builtin_sub_overflow(a, b, &ur);
    int o3 = __builtin_mul_overflow(sa, sb, &sr);
    int o4 = __builtin_mul_overflow(a, b, &ur);
    int o5 = __builtin_add_overflow((int32_t)a, (int32_t)b, &s32);
    int o6 = __builtin_mul_overflow((int32_t)a, (int32_t)b, &s32);
    snprintf(line, sizeof line, "%016" PRIx64 " %016" PRIx64 " -> %d%d%d%d%d%d %016" PRIx64
             " %016" PRIx64 " %08x", a, b, o1, o2, o3, o4, o5, o6, (uint64_t)sr, ur, (uint32_t)s32);
    emit(&ovf, line);

    uint8_t a8 = (uint8_t)a, b8 = (uint8_t)b;
    uint16_t a16 = (uint16_t)a, b16 = (uint16_t)b;
    int8_t sa8 = (int8_t)a;
    int16_t sa16 = (int16_t)a;
    snprintf(line, sizeof line, "%02x %02x %04x %04x -> %02x %02x %02x %04x %04x %04x %d %d %u %u",
             a8, b8, a16, b16, (uint8_t)(a8 + b8), (uint8_t)(a8 * b8), b8 ? a8 / b8 : 0,
             (uint16_t)(a16 * b16), b16 ? a16 % b16 : 0, (uint16_t)(a16 - b16), sa8 >> 3,
             sa16 >> 5, (unsigned)(a8 << 4), (unsigned)(a16 >> 3));
    emit(&narrow, line);
  }
  done(&mul);
  done(&dv);
  done(&d128);
  done(&dc);
  done(&bits);
  done(&ovf);
  done(&narrow);
  return 0;
}
