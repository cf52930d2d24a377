/* A loop that calls one of six small functions through a table of
 * function pointers, chosen by data (the shape of handler tables,
 * visitors and callbacks). A trace of the loop first ends at the call;
 * the code after the call is a path of its own, and the callees it left
 * to are taken into grown traces, each callee's return going back into
 * the trace, until the whole loop runs inside one. Prints a checksum.
 * argv[1]: rounds of 4096 calls (default 100). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define NOINLINE __attribute__((noinline, noclone))

typedef uint64_t (*op_fn)(uint64_t, uint64_t);

static NOINLINE uint64_t op_add(uint64_t a, uint64_t b) { return a + b; }
static NOINLINE uint64_t op_xor(uint64_t a, uint64_t b) { return a ^ (b << 1); }
static NOINLINE uint64_t op_mul(uint64_t a, uint64_t b) { return a * 3 + b; }
static NOINLINE uint64_t op_sub(uint64_t a, uint64_t b) { return a - (b >> 2); }
static NOINLINE uint64_t op_dif(uint64_t a, uint64_t b) { return (a < b ? b - a : a - b) * 5 + 1; }
static NOINLINE uint64_t op_rot(uint64_t a, uint64_t b) { return (a << 7 | a >> 57) ^ b; }

static op_fn const ops[6] = {op_add, op_xor, op_mul, op_sub, op_dif, op_rot};
static uint8_t sel[4096];

int main(int argc, char **argv) {
    long rounds = argc > 1 ? atol(argv[1]) : 100;
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 4096; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        sel[i] = (uint8_t)(x % 6);
    }
    uint64_t acc = 1;
    for (long r = 0; r < rounds; r++)
        for (int i = 0; i < 4096; i++)
            acc = ops[sel[i]](acc, (uint64_t)(i + r));
    printf("handlers rounds=%ld acc=%016llx\n", rounds, (unsigned long long)acc);
    return 0;
}
