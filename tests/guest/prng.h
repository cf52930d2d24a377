/* prng.h - deterministic pseudo-random numbers and hashing for guests.
 *
 * Every guest program must print the same thing natively and under tern,
 * so randomness comes from a fixed-seed splitmix64 generator, and large
 * results are summarised with a 64-bit FNV-1a hash. */
#ifndef TERN_PRNG_H
#define TERN_PRNG_H

#include <stddef.h>
#include <stdint.h>

static uint64_t prng_state = 0x0123456789abcdefULL;

static inline void prng_seed(uint64_t seed) { prng_state = seed; }

static inline uint64_t rnd64(void) {
  uint64_t z = (prng_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static inline uint32_t rnd32(void) { return (uint32_t)(rnd64() >> 32); }

/* Uniform-enough value in [0, n); n > 0. */
static inline uint64_t rnd_below(uint64_t n) { return rnd64() % n; }

#define FNV_INIT 0xcbf29ce484222325ULL

static inline uint64_t fnv_bytes(uint64_t h, const void *data, size_t len) {
  const unsigned char *p = (const unsigned char *)data;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

static inline uint64_t fnv_u64(uint64_t h, uint64_t v) { return fnv_bytes(h, &v, sizeof v); }

#endif
