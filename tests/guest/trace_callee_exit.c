/* A loop calling a function whose first branch falls through to a path
 * taken once, before the loop: a trace of the loop first follows that
 * path (the side a trace takes is the one laid out next, when it was
 * ever run) and leaves at the branch on every turn. Its grown trace takes
 * in the path from that exit, which ends in the function's return: the
 * return goes back along the trace to the loop, so the whole loop runs
 * inside the grown trace. Prints a checksum. argv[1]: the loop's turns
 * (30 million). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

uint64_t step(uint64_t x);
__asm__(".text\n"
        ".globl step\n"
        ".type step, @function\n"
        "step:\n"
        "  test %rdi, %rdi\n"
        "  jnz 1f\n"
        "  mov $7, %eax\n" /* x == 0: once */
        "  ret\n"
        "1:\n"
        "  lea (%rdi,%rdi,2), %rax\n"
        "  xor $0x55, %rax\n"
        "  ret\n"
        ".size step, .-step\n");

int main(int argc, char **argv) {
    uint64_t turns = argc > 1 ? strtoull(argv[1], 0, 10) : 30000000;
    uint64_t s = step(0);
    for (uint64_t i = 1; i <= turns; i++)
        s += step(s | i) >> 7;
    printf("checksum %016llx\n", (unsigned long long)s);
    return 0;
}
