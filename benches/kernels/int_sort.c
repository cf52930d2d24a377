/* Integer sorting: an introsort-style quicksort of 32-bit keys and an LSD
 * radix sort of 64-bit keys over the same data, checked against each other.
 * SIZE is the number of elements. */
#include <string.h>
#include "common.h"

static void insertion_sort(uint32_t *a, long n) {
    for (long i = 1; i < n; i++) {
        uint32_t v = a[i];
        long j = i - 1;
        while (j >= 0 && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static void quicksort(uint32_t *a, long n) {
    while (n > 24) {
        uint32_t x = a[0], y = a[n / 2], z = a[n - 1];
        uint32_t pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        long i = 0, j = n - 1;
        for (;;) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i >= j)
                break;
            uint32_t t = a[i];
            a[i] = a[j];
            a[j] = t;
            i++;
            j--;
        }
        /* Recurse into the smaller half, loop on the larger. */
        if (j + 1 < n - j - 1) {
            quicksort(a, j + 1);
            a += j + 1;
            n -= j + 1;
        } else {
            quicksort(a + j + 1, n - j - 1);
            n = j + 1;
        }
    }
    insertion_sort(a, n);
}

static void radix_sort(uint64_t *a, uint64_t *tmp, long n) {
    for (int shift = 0; shift < 64; shift += 16) {
        static long count[65537];
        memset(count, 0, sizeof count);
        for (long i = 0; i < n; i++)
            count[((a[i] >> shift) & 0xFFFF) + 1]++;
        for (int b = 0; b < 65536; b++)
            count[b + 1] += count[b];
        for (long i = 0; i < n; i++)
            tmp[count[(a[i] >> shift) & 0xFFFF]++] = a[i];
        memcpy(a, tmp, n * sizeof *a);
    }
}

int main(int argc, char **argv) {
    long n = arg_size(argc, argv, 1000000);
    uint32_t *keys = malloc(n * sizeof *keys);
    uint64_t *wide = malloc(n * sizeof *wide);
    uint64_t *tmp = malloc(n * sizeof *tmp);
    if (!keys || !wide || !tmp)
        return 1;
    for (long i = 0; i < n; i++) {
        keys[i] = (uint32_t)(rng_next() >> 32) % (uint32_t)(n * 4 + 1);
        wide[i] = ((uint64_t)keys[i] << 32) | (uint64_t)i;
    }
    quicksort(keys, n);
    radix_sort(wide, tmp, n);
    uint64_t h = CHECKSUM_INIT;
    for (long i = 0; i < n; i++) {
        if ((uint32_t)(wide[i] >> 32) != keys[i] || (i && keys[i - 1] > keys[i])) {
            printf("sort mismatch at %ld\n", i);
            return 1;
        }
        h = mix(h, keys[i] ^ (uint32_t)wide[i]);
    }
    printf("sort n=%ld checksum=%016llx\n", n, (unsigned long long)h);
    return 0;
}
