/* string_funcs.c - glibc's string and memory functions over many sizes and
 * alignments.
 *
 * glibc picks SSE2/SSSE3/SSE4.2/AVX2 implementations of these at load time;
 * they read whole aligned vectors, sometimes past the end of a string (but
 * never across a page), and use pcmpistri, pminub, pmovmskb, bsf and the
 * like. Every result is compared with a simple reference implementation and
 * also hashed. Strings ending right before an inaccessible page check that
 * over-reads stay within the page. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prng.h"

#define BUF 8192
static unsigned char src_buf[BUF + 64], dst_buf[BUF + 64], ref_buf[BUF + 64];
static const size_t aligns_dst[] = {0, 1, 3, 7, 8, 15, 31, 33};

struct tally {
  const char *name;
  unsigned long cases, bad;
  uint64_t hash;
};

static void note(struct tally *t, int ok, uint64_t value) {
  t->cases++;
  t->bad += !ok;
  t->hash = fnv_u64(t->hash, value);
}

static void report(const struct tally *t) {
  printf("%-10s cases %6lu mismatches %lu hash %016llx\n", t->name, t->cases, t->bad,
         (unsigned long long)t->hash);
}

static int sign(int x) { return (x > 0) - (x < 0); }

static size_t ref_strlen(const char *s) {
  size_t n = 0;
  while (s[n])
    n++;
  return n;
}

static int ref_memcmp(const unsigned char *a, const unsigned char *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (a[i] != b[i])
      return a[i] < b[i] ? -1 : 1;
  return 0;
}

static const char *ref_strstr(const char *h, const char *n) {
  size_t ln = ref_strlen(n);
  for (; *h; h++)
    if (!strncmp(h, n, ln))
      return h;
  return ln ? NULL : h;
}

static void fill_random(unsigned char *p, size_t n, int alphabet) {
  for (size_t i = 0; i < n; i++)
    p[i] = (unsigned char)(alphabet ? 'a' + rnd_below((uint64_t)alphabet) : 1 + rnd_below(255));
}

static size_t next_size(size_t n) { return n < 80 ? n + 1 : n < 1024 ? n * 3 / 2 : n * 2; }

int main(void) {
  prng_seed(2024);
  struct tally t_memcpy = {"memcpy", 0, 0, FNV_INIT}, t_memmove = {"memmove", 0, 0, FNV_INIT},
               t_memset = {"memset", 0, 0, FNV_INIT}, t_strlen = {"strlen", 0, 0, FNV_INIT},
               t_strchr = {"strchr", 0, 0, FNV_INIT}, t_memchr = {"memchr", 0, 0, FNV_INIT},
               t_memcmp = {"memcmp", 0, 0, FNV_INIT}, t_strcmp = {"strcmp", 0, 0, FNV_INIT},
               t_strstr = {"strstr", 0, 0, FNV_INIT}, t_strcpy = {"strcpy", 0, 0, FNV_INIT},
               t_misc = {"misc", 0, 0, FNV_INIT}, t_page = {"page-edge", 0, 0, FNV_INIT};

  for (size_t n = 0; n <= 4096; n = next_size(n)) {
    for (size_t sa = 0; sa < 16; sa++) {
      for (size_t di = 0; di < sizeof aligns_dst / sizeof aligns_dst[0]; di++) {
        size_t da = aligns_dst[di];
        fill_random(src_buf, n + 64, 0);
        memset(dst_buf, 0xee, sizeof dst_buf);
        memcpy(dst_buf + da, src_buf + sa, n);
        int ok = dst_buf[da + n] == 0xee && (da == 0 || dst_buf[da - 1] == 0xee) &&
                 ref_memcmp(dst_buf + da, src_buf + sa, n) == 0;
        note(&t_memcpy, ok, fnv_bytes(FNV_INIT, dst_buf, n + da + 1));

        /* overlapping move, forward and backward */
        memcpy(ref_buf, src_buf, n + 64);
        memmove(src_buf + sa, src_buf + da, n);
        int okm = 1;
        for (size_t i = 0; i < n; i++)
          okm &= src_buf[sa + i] == ref_buf[da + i];
        note(&t_memmove, okm, fnv_bytes(FNV_INIT, src_buf, n + 32));

        memset(dst_buf + da, (int)(n & 0xff), n);
        int oks = dst_buf[da + n] == 0xee;
        for (size_t i = 0; i < n; i++)
          oks &= dst_buf[da + i] == (unsigned char)n;
        note(&t_memset, oks, n);

        /* memcmp with a difference at a random position (or none) */
        memcpy(dst_buf + da, src_buf + sa, n);
        if (n && rnd_below(4)) {
          size_t pos = rnd_below(n);
          dst_buf[da + pos] = (unsigned char)(dst_buf[da + pos] + 1 + rnd_below(255));
        }
        int c = memcmp(src_buf + sa, dst_buf + da, n);
        note(&t_memcmp, sign(c) == ref_memcmp(src_buf + sa, dst_buf + da, n), (uint64_t)sign(c));

        /* C strings */
        char *s = (char *)src_buf + sa;
        fill_random((unsigned char *)s, n, 6);
        s[n] = 0;
        size_t len = strlen(s);
        note(&t_strlen, len == n && len == ref_strlen(s), len);
        int ch = 'a' + (int)rnd_below(7); /* 'g' never occurs */
        char *p = strchr(s, ch), *q = NULL;
        for (size_t i = 0; i < n; i++)
          if (s[i] == ch) {
            q = s + i;
            break;
          }
        note(&t_strchr, p == q, p ? (uint64_t)(p - s) : ~0ull);
        char *r = strrchr(s, ch);
        q = NULL;
        for (size_t i = 0; i < n; i++)
          if (s[i] == ch)
            q = s + i;
        note(&t_strchr, r == q, r ? (uint64_t)(r - s) : ~0ull);
        note(&t_strchr, strchr(s, 0) == s + n, 0);
        void *m = memchr(s, ch, n);
        note(&t_memchr, m == (void *)strchr(s, ch), m ? (uint64_t)((char *)m - s) : ~0ull);
        m = memrchr(s, ch, n);
        note(&t_memchr, m == (void *)strrchr(s, ch), m ? (uint64_t)((char *)m - s) : ~0ull);
        note(&t_memchr, rawmemchr(s, 0) == s + n, 0);

        char *d = (char *)dst_buf + da;
        char *end = stpcpy(d, s);
        note(&t_strcpy, end == d + n && strcmp(d, s) == 0, (uint64_t)(end - d));
        int sc = strcmp(s, d);
        if (n) {
          size_t pos = rnd_below(n);
          d[pos] = (char)('a' + rnd_below(6));
          if (rnd_below(3) == 0)
            d[pos] = 0;
        }
        sc = strcmp(s, d);
        int ref = 0;
        for (size_t i = 0;; i++) {
          if (s[i] != d[i]) {
            ref = (unsigned char)s[i] < (unsigned char)d[i] ? -1 : 1;
            break;
          }
          if (!s[i])
            break;
        }
        note(&t_strcmp, sign(sc) == ref, (uint64_t)sign(sc));
        size_t lim = n ? rnd_below(n + 1) : 0;
        int nc = strncmp(s, d, lim), ref_nc = 0;
        for (size_t i = 0; i < lim; i++) {
          if (s[i] != d[i]) {
            ref_nc = (unsigned char)s[i] < (unsigned char)d[i] ? -1 : 1;
            break;
          }
          if (!s[i])
            break;
        }
        note(&t_strcmp, sign(nc) == ref_nc, (uint64_t)sign(nc));
        char *after = memccpy(d, s, 0, lim);
        note(&t_strcpy, memcmp(d, s, lim) == 0 && after == (lim > n ? d + n + 1 : NULL), lim);

        /* strstr with a needle taken from the haystack or random */
        if (sa % 4 == 0 && di % 2 == 0) {
          char needle[40];
          size_t nl = rnd_below(n < 30 ? n + 1 : 30);
          if (rnd_below(2) && n > nl) {
            memcpy(needle, s + rnd_below(n - nl), nl);
          } else {
            fill_random((unsigned char *)needle, nl, 3);
          }
          needle[nl] = 0;
          char *hit = strstr(s, needle);
          note(&t_strstr, hit == ref_strstr(s, needle), hit ? (uint64_t)(hit - s) : ~0ull);
          note(&t_misc, strspn(s, "abc") == strspn(s, "cba"), strspn(s, "abc"));
          note(&t_misc, 1, strcspn(s, "ef"));
          note(&t_misc, strcasecmp(s, s) == 0, (uint64_t)sign(strcasecmp(s, needle)));
        }
      }
    }
  }

  /* strings that end just before a PROT_NONE page */
  long page = sysconf(_SC_PAGESIZE);
  unsigned char *pg = mmap(NULL, (size_t)(2 * page), PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (pg == MAP_FAILED || mprotect(pg + page, (size_t)page, PROT_NONE) != 0)
    return 2;
  for (size_t n = 0; n < 200; n++) {
    char *s = (char *)pg + page - n - 1;
    memset(s, 'x', n);
    s[n] = 0;
    note(&t_page, strlen(s) == n, n);
    note(&t_page, strchr(s, 'y') == NULL, n);
    note(&t_page, memchr(s, 'y', n) == NULL, n);
    note(&t_page, strcmp(s, s) == 0, n);
    note(&t_page, memcmp(s, s, n) == 0, n);
    note(&t_page, strrchr(s, 'x') == (n ? s + n - 1 : NULL), n);
    char copy[256];
    note(&t_page, strcpy(copy, s) == copy && strlen(copy) == n, n);
  }

  struct tally *all[] = {&t_memcpy, &t_memmove, &t_memset, &t_strlen, &t_strchr, &t_memchr,
                         &t_memcmp, &t_strcmp, &t_strstr, &t_strcpy, &t_misc, &t_page};
  unsigned long bad = 0;
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    report(all[i]);
    bad += all[i]->bad;
  }
  return bad != 0;
}
