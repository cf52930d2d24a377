/* Many indirect-branch targets, rewritten in place: more distinct targets
 * than a lookup table has slots to keep apart, so that under tern entries
 * evict each other into the table's victim half, and then every target's
 * code changes (self-modifying code, then an munmap and a fresh mapping at
 * the same address). Each call must run the code as it is now, wherever
 * its lookup entry was: a victim slot that kept a dropped block would run
 * the old function.
 * Prints a checksum per round. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define FUNCS 20000
/* Functions sit at 16-byte slots of an 8 MiB mapping chosen by a
 * multiplicative scramble, not side by side: evenly spaced addresses hash
 * to distinct slots of tern's table, scattered ones collide as a large
 * program's do. */
#define SLOTS 524288
#define MAP_BYTES ((size_t)SLOTS * 16)

typedef uint32_t (*fn)(void);

/* Writes `mov eax, imm32; ret` at p. */
static void emit(uint8_t *p, uint32_t imm) {
    p[0] = 0xb8;
    memcpy(p + 1, &imm, 4);
    p[5] = 0xc3;
}

static uint8_t *map_code(void *at) {
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | (at ? MAP_FIXED : 0);
    void *p = mmap(at, MAP_BYTES, PROT_READ | PROT_WRITE | PROT_EXEC, flags, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return NULL;
    }
    return p;
}

/* Where function i is. */
static uint8_t *at(uint8_t *code, uint32_t i) {
    return code + (size_t)((i * 2654435761u) % SLOTS) * 16;
}

/* Calls every function in a scrambled order, several times over, and
 * folds the results. */
static uint64_t call_all(uint8_t *code) {
    uint64_t sum = 0;
    for (int pass = 0; pass < 3; pass++)
        for (uint32_t i = 0; i < FUNCS; i++) {
            uint32_t j = (i * 7919u + (uint32_t)pass * 104729u) % FUNCS;
            sum = sum * 31 + ((fn)at(code, j))();
        }
    return sum;
}

int main(void) {
    uint8_t *code = map_code(NULL);
    if (!code)
        return 1;
    for (uint32_t i = 0; i < FUNCS; i++)
        emit(at(code, i), i);
    printf("round 0: %016llx\n", (unsigned long long)call_all(code));
    /* Rewritten in place, in the same mapping. */
    for (int round = 1; round <= 2; round++) {
        for (uint32_t i = 0; i < FUNCS; i++)
            emit(at(code, i), i * 2654435761u + (uint32_t)round);
        printf("round %d: %016llx\n", round, (unsigned long long)call_all(code));
    }
    /* A fresh mapping at the same address with other functions. */
    if (!map_code(code))
        return 1;
    for (uint32_t i = 0; i < FUNCS; i++)
        emit(at(code, i), ~i);
    printf("round 3: %016llx\n", (unsigned long long)call_all(code));
    /* Only some rewritten: those still the same must keep working. */
    for (uint32_t i = 0; i < FUNCS; i += 3)
        emit(at(code, i), i ^ 0x5a5a5a5au);
    printf("round 4: %016llx\n", (unsigned long long)call_all(code));
    return 0;
}
