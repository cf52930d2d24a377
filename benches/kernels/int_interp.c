/* An interpreter loop: a small register bytecode VM (switch dispatch, as in
 * most scripting-language interpreters) running a program that sums the
 * Collatz path lengths of 1..SIZE and mixes them into a checksum. */
#include "common.h"

enum op { LOADI, MOV, ADD, ADDI, SUB, MUL, SHR, AND, XOR, JZ, JNZ, JLT, JMP, HALT };

typedef struct {
    uint8_t op, a, b, c;
    int32_t imm;
} insn;

static uint64_t run(const insn *code, int64_t *r) {
    uint64_t steps = 0;
    const insn *pc = code;
    for (;;) {
        steps++;
        switch (pc->op) {
        case LOADI: r[pc->a] = pc->imm; break;
        case MOV: r[pc->a] = r[pc->b]; break;
        case ADD: r[pc->a] = r[pc->b] + r[pc->c]; break;
        case ADDI: r[pc->a] = r[pc->b] + pc->imm; break;
        case SUB: r[pc->a] = r[pc->b] - r[pc->c]; break;
        case MUL: r[pc->a] = r[pc->b] * r[pc->c]; break;
        case SHR: r[pc->a] = (int64_t)((uint64_t)r[pc->b] >> pc->imm); break;
        case AND: r[pc->a] = r[pc->b] & pc->imm; break;
        case XOR: r[pc->a] = r[pc->b] ^ r[pc->c]; break;
        case JZ: if (r[pc->a] == 0) { pc = code + pc->imm; continue; } break;
        case JNZ: if (r[pc->a] != 0) { pc = code + pc->imm; continue; } break;
        case JLT: if (r[pc->a] < r[pc->b]) { pc = code + pc->imm; continue; } break;
        case JMP: pc = code + pc->imm; continue;
        case HALT: return steps;
        }
        pc++;
    }
}

int main(int argc, char **argv) {
    long n = arg_size(argc, argv, 100000);
    /* r0 = i, r1 = n, r2 = x, r3 = len, r4 = total, r5 = tmp, r6 = 3, r7 = hash */
    const insn prog[] = {
        /* 0 */ {LOADI, 0, 0, 0, 1},
        /* 1 */ {LOADI, 6, 0, 0, 3},
        /* 2 */ {MOV, 2, 0, 0, 0},          /* outer: x = i */
        /* 3 */ {LOADI, 3, 0, 0, 0},        /* len = 0 */
        /* 4 */ {ADDI, 5, 2, 0, -1},        /* inner: tmp = x - 1 */
        /* 5 */ {JZ, 5, 0, 0, 13},          /* x == 1 -> done */
        /* 6 */ {ADDI, 3, 3, 0, 1},         /* len++ */
        /* 7 */ {AND, 5, 2, 0, 1},
        /* 8 */ {JZ, 5, 0, 0, 11},          /* even -> halve */
        /* 9 */ {MUL, 2, 2, 6, 0},          /* x = 3x + 1 */
        /* 10 */ {ADDI, 2, 2, 0, 1},
        /* 11 */ {SHR, 2, 2, 0, 1},         /* x >>= 1 (3x+1 is even) */
        /* 12 */ {JMP, 0, 0, 0, 4},
        /* 13 */ {ADD, 4, 4, 3, 0},         /* total += len */
        /* 14 */ {XOR, 7, 7, 3, 0},
        /* 15 */ {MUL, 7, 7, 6, 0},
        /* 16 */ {ADDI, 0, 0, 0, 1},        /* i++ */
        /* 17 */ {JLT, 0, 1, 0, 2},         /* i < n -> outer */
        /* 18 */ {HALT, 0, 0, 0, 0},
    };
    int64_t r[8] = {0};
    r[1] = n + 1;
    uint64_t steps = run(prog, r);
    printf("interp n=%ld total=%lld hash=%016llx steps=%llu\n", n, (long long)r[4], (unsigned long long)r[7],
           (unsigned long long)steps);
    return 0;
}
