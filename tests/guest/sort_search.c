/* sort_search.c - qsort and bsearch over 100k records.
 *
 * Records with seeded random keys are sorted by several comparators
 * (integer key, string name, multi-key with a tie-break), the order is
 * checked and hashed, and then every key plus some absent keys are looked
 * up with bsearch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prng.h"

#define N 100000

struct record {
  uint32_t key;
  int32_t score;
  char name[12];
  uint32_t serial;
};

static int by_key(const void *a, const void *b) {
  const struct record *x = a, *y = b;
  return (x->key > y->key) - (x->key < y->key);
}

static int by_name_then_serial(const void *a, const void *b) {
  const struct record *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  if (c)
    return c;
  return (x->serial > y->serial) - (x->serial < y->serial);
}

static int by_score_desc_then_key(const void *a, const void *b) {
  const struct record *x = a, *y = b;
  if (x->score != y->score)
    return x->score < y->score ? 1 : -1;
  return by_key(a, b) ? by_key(a, b) : (x->serial > y->serial) - (x->serial < y->serial);
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

static uint64_t hash_records(const struct record *r, size_t n) {
  uint64_t h = FNV_INIT;
  for (size_t i = 0; i < n; i++) {
    h = fnv_u64(h, r[i].key);
    h = fnv_u64(h, (uint64_t)(int64_t)r[i].score);
    h = fnv_bytes(h, r[i].name, strlen(r[i].name));
    h = fnv_u64(h, r[i].serial);
  }
  return h;
}

static int check_sorted(const struct record *r, size_t n, int (*cmp)(const void *, const void *)) {
  for (size_t i = 1; i < n; i++)
    if (cmp(&r[i - 1], &r[i]) > 0)
      return 0;
  return 1;
}

int main(void) {
  struct record *r = malloc(N * sizeof *r);
  if (!r)
    return 1;
  prng_seed(42);
  for (uint32_t i = 0; i < N; i++) {
    r[i].key = rnd32() % 1000000u;
    r[i].score = (int32_t)(rnd64() % 2001) - 1000;
    int len = 1 + (int)rnd_below(10);
    for (int j = 0; j < len; j++)
      r[i].name[j] = (char)('a' + rnd_below(4));
    r[i].name[len] = 0;
    r[i].serial = i;
  }
  int failures = 0;
  struct {
    const char *name;
    int (*cmp)(const void *, const void *);
  } orders[] = {{"key", by_key}, {"name", by_name_then_serial}, {"score", by_score_desc_then_key}};
  for (int o = 0; o < 3; o++) {
    qsort(r, N, sizeof *r, orders[o].cmp);
    int ok = check_sorted(r, N, orders[o].cmp);
    failures += !ok;
    printf("sorted by %s: ok=%d first=(%u %d %s) last=(%u %d %s)", orders[o].name, ok, r[0].key,
           r[0].score, r[0].name, r[N - 1].key, r[N - 1].score, r[N - 1].name);
    if (o != 0) /* key order is not unique: ties may come in any order */
      printf(" hash=%016llx", (unsigned long long)hash_records(r, N));
    putchar('\n');
  }

  uint32_t *keys = malloc(N * sizeof *keys);
  for (size_t i = 0; i < N; i++)
    keys[i] = r[i].key;
  qsort(keys, N, sizeof *keys, cmp_u32);
  size_t unique = 0;
  for (size_t i = 0; i < N; i++)
    if (i == 0 || keys[i] != keys[i - 1])
      keys[unique++] = keys[i];
  uint64_t found = 0, found_pos = 0;
  for (uint32_t probe = 0; probe < 1000000u; probe += 3) {
    uint32_t *hit = bsearch(&probe, keys, unique, sizeof *keys, cmp_u32);
    if (hit) {
      found++;
      found_pos += (uint64_t)(hit - keys);
    }
  }
  int all_found = 1;
  for (size_t i = 0; i < unique; i++)
    if (bsearch(&keys[i], keys, unique, sizeof *keys, cmp_u32) != &keys[i])
      all_found = 0;
  failures += !all_found;
  printf("unique keys %zu, probes found %llu, position sum %llu, all present found=%d\n", unique,
         (unsigned long long)found, (unsigned long long)found_pos, all_found);
  free(keys);
  free(r);
  return failures;
}
