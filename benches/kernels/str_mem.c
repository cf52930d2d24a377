/* libc string functions, the way text-processing programs use them:
 * memcpy of short and medium blocks (16 B to 8 KiB), strlen of
 * NUL-terminated lines, memchr for delimiters and memcmp of keys, over a
 * 1 MiB arena of generated lines. Almost all the time is in glibc's
 * IFUNC-selected variants (SSE2, AVX2 or EVEX by CPUID), so this measures
 * how well the guest gets the host's best variants.
 * SIZE is the number of passes (thousands of calls each). */
#include <string.h>
#include "common.h"

#define ARENA (1 << 20)
#define LINES 4096

int main(int argc, char **argv) {
    long n = arg_size(argc, argv, 200);
    char *arena = malloc(ARENA + 64), *dst = malloc(ARENA + 64);
    size_t *start = malloc(LINES * sizeof *start);
    if (!arena || !dst || !start)
        return 1;
    /* Lines of 1..511 letters, NUL-terminated, a ':' somewhere in most. */
    size_t pos = 0;
    for (int l = 0; l < LINES; l++) {
        size_t len = 1 + rng_next() % 200 + (rng_next() % 8 == 0 ? rng_next() % 300 : 0);
        start[l] = pos;
        for (size_t i = 0; i < len; i++)
            arena[pos + i] = (char)('a' + rng_next() % 26);
        if (len > 4 && rng_next() % 4)
            arena[pos + rng_next() % len] = ':';
        arena[pos + len] = 0;
        pos += len + 1;
    }
    for (; pos < ARENA; pos++)
        arena[pos] = (char)('A' + pos % 26);
    uint64_t h = CHECKSUM_INIT;
    for (long pass = 0; pass < n; pass++) {
        for (int l = 0; l < LINES; l++) {
            const char *s = arena + start[l];
            size_t len = strlen(s);
            const char *colon = memchr(s, ':', len);
            h = mix(h, len * 31 + (colon ? (size_t)(colon - s) : 0));
            /* Copy the line and a block after it (16 B..8 KiB), compare. */
            size_t blk = (size_t)16 << ((l + pass) % 10);
            size_t off = (start[l] * 7 + (size_t)pass * 4099) % (ARENA - blk);
            memcpy(dst + off, arena + off, blk);
            memcpy(dst, s, len + 1);
            h = mix(h, (uint64_t)memcmp(dst, s, len) + strlen(dst) + (uint8_t)dst[off + blk / 2]);
        }
        /* One long scan per pass: memchr for a byte that is not there. */
        h = mix(h, memchr(arena + (pass % 64), '#', ARENA - 64) != NULL);
    }
    printf("%016llx\n", (unsigned long long)h);
    return 0;
}
