/* A switch-dispatch loop (gcc: a jump table, one indirect jump per
 * operation) running a small register program many times: the shape of
 * an interpreter. A trace of its loop first follows one handler; the
 * others are where it leaves, and its grown traces take them in, until
 * the whole dispatch loop runs inside one trace. Prints a checksum.
 * argv[1]: the program's runs (default 200). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { SET, ADD, XOR, ROT, MULK, DEC, JNZ, SWAP, HALT };

struct ins {
    uint8_t op, a, b;
    int32_t k;
};

__attribute__((noinline)) static uint64_t run(const struct ins *code, uint64_t seed, long *steps) {
    uint64_t r[4] = {seed, seed ^ 0x9e3779b97f4a7c15ull, 7, 0};
    const struct ins *pc = code;
    long n = 0;
    for (;;) {
        n++;
        switch (pc->op) {
        case SET: r[pc->a] = (uint64_t)pc->k; break;
        case ADD: r[pc->a] += r[pc->b]; break;
        case XOR: r[pc->a] ^= r[pc->b] >> 3; break;
        case ROT: r[pc->a] = (r[pc->a] << 13) | (r[pc->a] >> 51); break;
        case MULK: r[pc->a] *= (uint64_t)pc->k | 1; break;
        case DEC: r[pc->a]--; break;
        case JNZ:
            if (r[pc->a]) {
                pc = code + pc->k;
                continue;
            }
            break;
        case SWAP: {
            uint64_t t = r[pc->a];
            r[pc->a] = r[pc->b];
            r[pc->b] = t;
            break;
        }
        default: *steps += n; return r[0] ^ r[1] ^ r[3];
        }
        pc++;
    }
}

int main(int argc, char **argv) {
    uint64_t runs = argc > 1 ? strtoull(argv[1], NULL, 10) : 200;
    static const struct ins prog[] = {
        {SET, 2, 0, 20000}, {ADD, 0, 1, 0}, {XOR, 1, 0, 0}, {ROT, 0, 0, 0}, {MULK, 1, 0, 0x2545f491},
        {SWAP, 0, 3, 0},    {ADD, 0, 3, 0}, {DEC, 2, 0, 0}, {JNZ, 2, 0, 1}, {HALT, 0, 0, 0},
    };
    uint64_t sum = 0;
    long steps = 0;
    for (uint64_t s = 1; s <= runs; s++)
        sum += run(prog, s * 0x1234567ull, &steps);
    printf("checksum %016llx, %ld operations\n", (unsigned long long)sum, steps);
    return 0;
}
