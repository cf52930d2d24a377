/* Compression-like bit twiddling: text-like data is LZ77-compressed with a
 * hash-chain match finder into an Elias-gamma coded bit stream, decoded back
 * and verified, and CRC-32 (table driven) is computed over input and output.
 * SIZE is the input length in KiB. */
#include <string.h>
#include "common.h"

#define WINDOW 4096
#define MIN_MATCH 3
#define MAX_MATCH 258
#define HASH_BITS 14

static uint32_t crc_table[256];

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc32(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

typedef struct {
    uint8_t *buf;
    size_t bitpos;
} bits;

static inline void put_bits(bits *w, uint32_t v, int n) {
    for (int i = n - 1; i >= 0; i--, w->bitpos++)
        if (v >> i & 1)
            w->buf[w->bitpos >> 3] |= (uint8_t)(0x80 >> (w->bitpos & 7));
}

static inline uint32_t get_bits(bits *r, int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; i++, r->bitpos++)
        v = v << 1 | (uint32_t)(r->buf[r->bitpos >> 3] >> (7 - (r->bitpos & 7)) & 1);
    return v;
}

/* Elias gamma code of v >= 1. */
static inline void put_gamma(bits *w, uint32_t v) {
    int len = 31 - __builtin_clz(v);
    put_bits(w, 0, len);
    put_bits(w, v, len + 1);
}

static inline uint32_t get_gamma(bits *r) {
    int len = 0;
    while (!get_bits(r, 1))
        len++;
    return (1u << len) | get_bits(r, len);
}

static inline uint32_t hash3(const uint8_t *p) {
    return ((uint32_t)p[0] << 16 ^ (uint32_t)p[1] << 8 ^ p[2]) * 2654435761u >> (32 - HASH_BITS);
}

static size_t compress(const uint8_t *in, size_t n, uint8_t *out) {
    static int32_t head[1 << HASH_BITS];
    static int32_t prev[WINDOW];
    memset(head, -1, sizeof head);
    bits w = {out, 0};
    size_t i = 0;
    while (i < n) {
        int best_len = 0, best_dist = 0;
        if (i + MIN_MATCH <= n) {
            uint32_t h = hash3(in + i);
            int32_t cand = head[h];
            for (int chain = 0; chain < 32 && cand >= 0 && i - (size_t)cand < WINDOW; chain++) {
                int len = 0;
                while (len < MAX_MATCH && i + len < n && in[cand + len] == in[i + len])
                    len++;
                if (len > best_len) {
                    best_len = len;
                    best_dist = (int)(i - (size_t)cand);
                }
                cand = prev[cand % WINDOW];
            }
            prev[i % WINDOW] = head[h];
            head[h] = (int32_t)i;
        }
        if (best_len >= MIN_MATCH) {
            put_bits(&w, 1, 1);
            put_gamma(&w, (uint32_t)(best_len - MIN_MATCH + 1));
            put_bits(&w, (uint32_t)best_dist, 12);
            for (int k = 1; k < best_len; k++)
                if (i + k + MIN_MATCH <= n) {
                    uint32_t h = hash3(in + i + k);
                    prev[(i + k) % WINDOW] = head[h];
                    head[h] = (int32_t)(i + k);
                }
            i += (size_t)best_len;
        } else {
            put_bits(&w, 0, 1);
            put_bits(&w, in[i], 8);
            i++;
        }
    }
    return w.bitpos;
}

static size_t decompress(uint8_t *packed, size_t nbits, uint8_t *out) {
    bits r = {packed, 0};
    size_t o = 0;
    while (r.bitpos < nbits) {
        if (get_bits(&r, 1)) {
            uint32_t len = get_gamma(&r) + MIN_MATCH - 1;
            uint32_t dist = get_bits(&r, 12);
            for (uint32_t k = 0; k < len; k++, o++)
                out[o] = out[o - dist];
        } else {
            out[o++] = (uint8_t)get_bits(&r, 8);
        }
    }
    return o;
}

int main(int argc, char **argv) {
    long kib = arg_size(argc, argv, 1024);
    size_t n = (size_t)kib * 1024;
    static const char *words[] = {"the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ", "dog ",
                                  "emulator ", "translates ", "blocks ", "of ", "guest ", "code ", "\n", ", "};
    uint8_t *in = malloc(n), *packed = calloc(n * 2 + 16, 1), *back = malloc(n + MAX_MATCH);
    if (!in || !packed || !back)
        return 1;
    size_t at = 0;
    while (at < n) {
        const char *wd = words[rng_next() % 16];
        size_t len = strlen(wd);
        for (size_t k = 0; k < len && at < n; k++)
            in[at++] = (uint8_t)wd[k];
        if (rng_next() % 7 == 0 && at < n)
            in[at++] = (uint8_t)('0' + rng_next() % 10);
    }
    crc_init();
    size_t nbits = compress(in, n, packed);
    size_t m = decompress(packed, nbits, back);
    if (m != n || memcmp(in, back, n)) {
        printf("round trip failed\n");
        return 1;
    }
    printf("bits kib=%ld packed_bits=%zu crc_in=%08x crc_packed=%08x\n", kib, nbits, crc32(in, n),
           crc32(packed, (nbits + 7) / 8));
    return 0;
}
