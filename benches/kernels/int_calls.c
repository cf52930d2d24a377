/* Call- and return-heavy integer code: small functions called through a
 * table of function pointers chosen by data, and direct recursion, the
 * shape of interpreters with handler tables, visitors and recursive-descent
 * code. SIZE rounds of three parts, each mixed into the checksum:
 *
 *  - eval: a random expression tree of TREE_NODES nodes (operators from the
 *    table, leaves from an array changed every round) evaluated by a
 *    recursive walk: two direct calls and one indirect call per inner node;
 *  - stream: a byte string of operator numbers applied left to right, one
 *    indirect call per byte; some operators call further operators through
 *    the table, so returns go back to many different call sites;
 *  - split: a direct binary recursion of depth SPLIT_DEPTH whose leaves call
 *    through the table.
 *
 * Every function reached through the table or by recursion is noinline, so
 * gcc keeps real calls and returns in both the static and the dynamic build. */
#include "common.h"

#define NOINLINE __attribute__((noinline, noclone))

#define TREE_NODES 4095 /* a complete binary tree: 2048 leaves, 2047 operators */
#define STREAM_LEN 4096
#define SPLIT_DEPTH 10

typedef uint64_t (*op_fn)(uint64_t, uint64_t);

static const op_fn ops[16];

static NOINLINE uint64_t op_add(uint64_t a, uint64_t b) { return a + b; }
static NOINLINE uint64_t op_sub(uint64_t a, uint64_t b) { return a - b; }
static NOINLINE uint64_t op_xor(uint64_t a, uint64_t b) { return a ^ b; }
static NOINLINE uint64_t op_mul(uint64_t a, uint64_t b) { return a * (b | 1); }
static NOINLINE uint64_t op_rotl(uint64_t a, uint64_t b) {
    unsigned s = b & 63;
    return s ? (a << s) | (a >> (64 - s)) : a;
}
static NOINLINE uint64_t op_min(uint64_t a, uint64_t b) { return a < b ? a : b; }
static NOINLINE uint64_t op_max(uint64_t a, uint64_t b) { return a > b ? a : b; }
static NOINLINE uint64_t op_avg(uint64_t a, uint64_t b) { return (a & b) + ((a ^ b) >> 1); }
static NOINLINE uint64_t op_mix(uint64_t a, uint64_t b) { return mix(a, b); }
static NOINLINE uint64_t op_andn(uint64_t a, uint64_t b) { return a & ~b; }
static NOINLINE uint64_t op_div(uint64_t a, uint64_t b) { return a / ((b & 0xffff) | 1); }
static NOINLINE uint64_t op_popc(uint64_t a, uint64_t b) { return a + (uint64_t)__builtin_popcountll(b); }
/* Operators that call further operators through the table. */
static NOINLINE uint64_t op_twice(uint64_t a, uint64_t b) { return ops[b & 7](ops[(b >> 3) & 7](a, b), a); }
static NOINLINE uint64_t op_pick(uint64_t a, uint64_t b) { return ops[(a ^ b) & 11](b, a) + 1; }
static NOINLINE uint64_t op_chain(uint64_t a, uint64_t b) {
    for (unsigned i = 0; i < 3; i++)
        a = ops[(b >> (4 * i)) & 9](a, b + i);
    return a;
}
static NOINLINE uint64_t op_neg(uint64_t a, uint64_t b) { return ~a + (b >> 7); }

static const op_fn ops[16] = {
    op_add, op_sub, op_xor, op_mul, op_rotl, op_min, op_max, op_avg,
    op_mix, op_andn, op_div, op_popc, op_twice, op_pick, op_chain, op_neg,
};

/* Node i's children are 2i+1 and 2i+2; leaves are the last (TREE_NODES+1)/2. */
static uint8_t tree_op[TREE_NODES];
static uint64_t leaf[TREE_NODES];

static NOINLINE uint64_t eval(unsigned i) {
    if (i >= TREE_NODES / 2)
        return leaf[i];
    uint64_t l = eval(2 * i + 1);
    uint64_t r = eval(2 * i + 2);
    return ops[tree_op[i]](l, r);
}

static uint8_t stream[STREAM_LEN];

static NOINLINE uint64_t run_stream(uint64_t acc, uint64_t salt) {
    for (unsigned i = 0; i < STREAM_LEN; i++)
        acc = ops[stream[i]](acc, salt + i);
    return acc;
}

static NOINLINE uint64_t split(unsigned depth, uint64_t x) {
    if (depth == 0)
        return ops[x >> 60](x, x >> 17);
    uint64_t l = split(depth - 1, x * 0x9E3779B97F4A7C15ull + depth);
    uint64_t r = split(depth - 1, x ^ (x >> 31));
    return l + (r ^ depth);
}

int main(int argc, char **argv) {
    long n = arg_size(argc, argv, 100);
    for (unsigned i = 0; i < TREE_NODES; i++) {
        tree_op[i] = rng_next() >> 60;
        leaf[i] = rng_next();
    }
    for (unsigned i = 0; i < STREAM_LEN; i++)
        stream[i] = rng_next() >> 60;
    uint64_t sum = CHECKSUM_INIT, acc = 1;
    for (long round = 0; round < n; round++) {
        leaf[TREE_NODES / 2 + round % (TREE_NODES / 2 + 1)] = rng_next();
        uint64_t e = eval(0);
        acc = run_stream(acc ^ e, (uint64_t)round);
        uint64_t s = split(SPLIT_DEPTH, e ^ acc);
        sum = mix(mix(mix(sum, e), acc), s);
    }
    printf("calls n=%ld sum=%016llx acc=%016llx\n", n, (unsigned long long)sum, (unsigned long long)acc);
    return 0;
}
