/* Hashing: an open-addressing hash table counting keys drawn from a skewed
 * distribution, then lookups of present and absent keys, and byte-string
 * hashing (FNV-1a and a murmur-style finaliser) of generated words.
 * SIZE is the number of insertions. */
#include <string.h>
#include "common.h"

typedef struct {
    uint64_t key;
    uint64_t count;
} slot;

static inline uint64_t fmix64(uint64_t k) {
    k ^= k >> 33;
    k *= 0xFF51AFD7ED558CCDull;
    k ^= k >> 33;
    k *= 0xC4CEB9FE1A85EC53ull;
    return k ^ (k >> 33);
}

static uint64_t fnv1a(const unsigned char *s, size_t len) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ s[i]) * 0x100000001B3ull;
    return h;
}

int main(int argc, char **argv) {
    long n = arg_size(argc, argv, 1000000);
    size_t cap = 1;
    while (cap < (size_t)n)
        cap <<= 1;
    cap <<= 1;
    slot *table = calloc(cap, sizeof *table);
    if (!table)
        return 1;
    uint64_t distinct = 0, h = CHECKSUM_INIT;
    for (long i = 0; i < n; i++) {
        /* Skewed keys: small values repeat often. */
        uint64_t r = rng_next();
        uint64_t key = (r >> 40) % (uint64_t)(1 + (r & 0xFF) * (uint64_t)n / 256) + 1;
        size_t at = fmix64(key) & (cap - 1);
        while (table[at].key && table[at].key != key)
            at = (at + 1) & (cap - 1);
        if (!table[at].key) {
            table[at].key = key;
            distinct++;
        }
        table[at].count++;
    }
    uint64_t found = 0;
    for (long i = 0; i < n; i++) {
        uint64_t key = (uint64_t)i * 2 + 1;
        size_t at = fmix64(key) & (cap - 1);
        while (table[at].key && table[at].key != key)
            at = (at + 1) & (cap - 1);
        if (table[at].key == key) {
            found++;
            h = mix(h, table[at].count);
        }
    }
    char word[32];
    for (long i = 0; i < n; i++) {
        int len = 4 + (int)(rng_next() % 20);
        for (int j = 0; j < len; j++)
            word[j] = (char)('a' + rng_next() % 26);
        h = mix(h, fnv1a((unsigned char *)word, (size_t)len) ^ fmix64((uint64_t)len));
    }
    printf("hash n=%ld distinct=%llu found=%llu checksum=%016llx\n", n, (unsigned long long)distinct,
           (unsigned long long)found, (unsigned long long)h);
    return 0;
}
