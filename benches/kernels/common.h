/* Shared helpers for the benchmark kernels: the size argument, a seeded
 * PRNG and a checksum mixer. Every kernel takes one size argument and prints
 * a checksum that depends on all of its work, so the harness can compare the
 * output under each configuration with the native run. */
#ifndef TERN_BENCH_COMMON_H
#define TERN_BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The size argument (argv[1]), or `dflt` when absent. */
static long arg_size(int argc, char **argv, long dflt) {
    if (argc < 2)
        return dflt;
    long n = strtol(argv[1], NULL, 10);
    if (n <= 0) {
        fprintf(stderr, "usage: %s SIZE (a positive integer)\n", argv[0]);
        exit(2);
    }
    return n;
}

/* xorshift64*, seeded with a fixed value: the same sequence on every run. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static inline uint64_t rng_next(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

/* FNV-1a style mixing of a 64-bit value into a running checksum. */
static inline uint64_t mix(uint64_t h, uint64_t v) {
    h ^= v;
    h *= 0x100000001B3ull;
    return h ^ (h >> 29);
}

#define CHECKSUM_INIT 0xCBF29CE484222325ull

#endif
