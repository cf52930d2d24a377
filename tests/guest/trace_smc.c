/* A hot loop in code the program keeps rewriting (a JIT patching an
 * immediate): every rewrite drops its translation. Traces stop before such
 * pages, so the loop is compiled at most once or twice, not after every
 * rewrite (`--stats`: "traces: formed"); results equal native. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

int main(void) {
    /* mov eax, edi; mov ecx, 2000; L: add eax, imm32; dec ecx; jnz L; ret */
    static const uint8_t tmpl[] = {0x89, 0xf8, 0xb9, 0xd0, 0x07, 0x00, 0x00, 0x05, 0, 0, 0, 0,
                                   0xff, 0xc9, 0x75, 0xf7, 0xc3};
    uint8_t *code = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    memcpy(code, tmpl, sizeof tmpl);
    unsigned (*f)(unsigned) = (unsigned (*)(unsigned))code;
    unsigned acc = 0;
    for (uint32_t round = 0; round < 300; round++) {
        uint32_t imm = round * 7 + 1;
        memcpy(code + 8, &imm, 4);
        acc = f(acc);
    }
    printf("%u\n", acc);
    return 0;
}
