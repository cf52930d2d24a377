/* malloc_churn.c - heavy malloc/calloc/realloc/free traffic.
 *
 * 200k seeded random operations on 4096 slots, sizes from 1 byte to 256 KB
 * (large ones are served by mmap inside glibc), every block filled with a
 * pattern that is verified before it is freed or after it is moved by
 * realloc. Also aligned allocation. No address is printed. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prng.h"

#define SLOTS 4096
#define OPS 100000

struct slot {
  unsigned char *p;
  size_t size;
  unsigned char tag;
};

static struct slot slots[SLOTS];

static void fill(struct slot *s) {
  for (size_t i = 0; i < s->size; i += 61)
    s->p[i] = (unsigned char)(s->tag + i);
  if (s->size)
    s->p[s->size - 1] = s->tag;
}

static int verify(const struct slot *s, size_t upto) {
  size_t n = upto < s->size ? upto : s->size;
  for (size_t i = 0; i < n; i += 61)
    if (i != s->size - 1 && s->p[i] != (unsigned char)(s->tag + i))
      return 0;
  if (n == s->size && n && s->p[n - 1] != s->tag)
    return 0;
  return 1;
}

static size_t random_size(void) {
  uint64_t r = rnd_below(1000);
  if (r < 600)
    return 1 + rnd_below(128);
  if (r < 950)
    return 1 + rnd_below(4096);
  if (r < 995)
    return 1 + rnd_below(65536);
  return 131072 + rnd_below(131072);
}

int main(void) {
  prng_seed(99);
  uint64_t bad = 0, allocs = 0, frees = 0, reallocs = 0, callocs = 0, bytes = 0;
  for (int op = 0; op < OPS; op++) {
    struct slot *s = &slots[rnd_below(SLOTS)];
    uint64_t kind = rnd_below(10);
    if (!s->p) {
      s->size = random_size();
      s->tag = (unsigned char)rnd64();
      if (kind < 2) {
        s->p = calloc(1, s->size);
        callocs++;
        for (size_t i = 0; i < s->size; i++)
          if (s->p[i]) {
            bad++;
            break;
          }
      } else {
        s->p = malloc(s->size);
        allocs++;
      }
      if (!s->p)
        return 2;
      bytes += s->size;
      fill(s);
    } else if (kind < 3) {
      size_t new_size = random_size();
      unsigned char *q = realloc(s->p, new_size);
      if (!q)
        return 2;
      s->p = q;
      if (!verify(s, new_size < s->size ? new_size : s->size))
        bad++;
      s->size = new_size;
      fill(s);
      reallocs++;
    } else {
      if (!verify(s, s->size))
        bad++;
      free(s->p);
      s->p = NULL;
      frees++;
    }
  }
  for (int i = 0; i < SLOTS; i++) {
    if (slots[i].p && !verify(&slots[i], slots[i].size))
      bad++;
    free(slots[i].p);
  }
  printf("malloc %llu calloc %llu realloc %llu free %llu bytes %llu bad %llu\n",
         (unsigned long long)allocs, (unsigned long long)callocs, (unsigned long long)reallocs,
         (unsigned long long)frees, (unsigned long long)bytes, (unsigned long long)bad);

  int misaligned = 0;
  for (size_t align = 16; align <= 65536; align *= 4) {
    void *p = NULL;
    if (posix_memalign(&p, align, 1000) != 0)
      return 3;
    misaligned += ((uintptr_t)p % align) != 0;
    memset(p, 1, 1000);
    void *q = memalign(align, 3000);
    misaligned += ((uintptr_t)q % align) != 0;
    void *r = aligned_alloc(align, align * 2);
    misaligned += ((uintptr_t)r % align) != 0;
    free(p);
    free(q);
    free(r);
  }
  printf("aligned allocations misaligned: %d\n", misaligned);
  return bad != 0 || misaligned != 0;
}
