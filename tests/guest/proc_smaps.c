/* /proc/self/smaps lists the same mappings as /proc/self/maps, in the same
 * order and with the same header lines (under tern: without tern's own
 * mappings in either, and with the guest's [heap] and [stack] named in
 * both), each followed by its fields; /proc/self/smaps_rollup has the
 * kernel's fields and its Rss is the sum of smaps' (not its Pss: each
 * mapping's is rounded down to a kB on its own, the rollup's once).
 * Compared with the native run. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char maps[1 << 20], smaps[1 << 23], rollup[1 << 16];

static size_t slurp(const char *path, char *buf, size_t cap) {
    int fd = open(path, O_RDONLY);
    size_t len = 0;
    long n;
    while (fd >= 0 && (n = read(fd, buf + len, cap - 1 - len)) > 0)
        len += n;
    buf[len] = 0;
    if (fd >= 0)
        close(fd);
    return len;
}

/* A header line starts "start-end " in hex. */
static int is_header(const char *l) {
    const char *p = l;
    while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))
        p++;
    return p > l && *p == '-';
}

int main(void) {
    char *small = malloc(1000); /* from the break: a [heap] */
    void *anon = mmap(NULL, 7 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!small || anon == MAP_FAILED)
        return 1;
    /* Touched first: the reads then fault in no page (Rss stays put). */
    memset(maps, 1, sizeof maps);
    memset(smaps, 1, sizeof smaps);
    memset(rollup, 1, sizeof rollup);
    slurp("/proc/self/maps", maps, sizeof maps);
    slurp("/proc/self/smaps", smaps, sizeof smaps);
    slurp("/proc/self/smaps_rollup", rollup, sizeof rollup);
    long rss = 0, rrss = -1, v;
    for (char *l = smaps; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : l) {
        if (sscanf(l, "Rss: %ld kB", &v) == 1)
            rss += v;
    }
    for (char *l = rollup; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : l) {
        if (sscanf(l, "Rss: %ld kB", &v) == 1)
            rrss = v;
    }
    int named = strstr(rollup, " [rollup]\n") != NULL;
    int lines = 0, same = 1, fields = 0, heap = 0, stack = 0;
    char *m = maps, *s = smaps;
    while (*m) {
        char *mend = strchr(m, '\n');
        if (!mend)
            break;
        /* The next header in smaps, counting the field lines before it. */
        while (*s && !is_header(s)) {
            char *e = strchr(s, '\n');
            if (!e)
                break;
            fields++;
            s = e + 1;
        }
        size_t len = (size_t)(mend - m) + 1;
        if (strncmp(m, s, len) != 0)
            same = 0;
        heap += strstr(m, "[heap]") && strstr(m, "[heap]") < mend;
        stack += strstr(m, "[stack]") && strstr(m, "[stack]") < mend;
        s += strlen(s) < len ? strlen(s) : len;
        m = mend + 1;
        lines++;
    }
    while (*s) { /* the last mapping's fields, and anything after */
        char *e = strchr(s, '\n');
        if (!e || is_header(s)) {
            same = same && !e;
            break;
        }
        fields++;
        s = e + 1;
    }
    printf("lines>5 %d same %d fields>lines %d heap %d stack %d\n", lines > 5, same,
           fields > lines, heap, stack);
    printf("rollup named %d rss %d\nrollup fields:", named, rss == rrss);
    for (char *l = strchr(rollup, '\n'); l && l[1]; l = strchr(l + 1, '\n'))
        printf(" %.*s", (int)(strchr(l + 1, ':') ? strchr(l + 1, ':') - l - 1 : 0), l + 1);
    printf("\n");
    return 0;
}
