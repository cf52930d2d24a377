/* ioctl(PROCMAP_QUERY) (Linux 6.11) on /proc/self/maps, checked against
 * the maps file itself so that the output holds no address: every line
 * answers an exact query with its own fields and name, a walk with
 * COVERING_OR_NEXT_VMA visits the lines in order, the heap and the stack
 * have their names, the permission and file-backed filters, a build ID,
 * and the errors (a gap, a filtered-out mapping, a small name buffer, a
 * bad buffer, bad sizes). LTP ioctl10. Compared with the native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct query {
    uint64_t size, query_flags, query_addr, vma_start, vma_end, vma_flags, vma_page_size, vma_offset, inode;
    uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
    uint64_t vma_name_addr, build_id_addr;
};
#define PROCMAP_QUERY _IOWR('f', 17, struct query)
#define COVERING_OR_NEXT 0x10
#define FILE_BACKED 0x20

struct line {
    unsigned long start, end, off, inode;
    unsigned major, minor, flags;
    char name[512];
};

static int fd;
static char name[4096];

static long ask(struct query *q, uint64_t addr, uint64_t flags) {
    memset(q, 0, sizeof(*q));
    q->size = sizeof(*q);
    q->query_addr = addr;
    q->query_flags = flags;
    q->vma_name_addr = (uintptr_t)name;
    q->vma_name_size = sizeof(name);
    return ioctl(fd, PROCMAP_QUERY, q);
}

static void show(const char *what, long r) {
    printf("%s: %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
}

static int read_maps(struct line *l, int max) {
    FILE *f = fopen("/proc/self/maps", "r");
    char buf[1024], perm[8];
    int n = 0;
    while (n < max && fgets(buf, sizeof(buf), f)) {
        struct line *e = &l[n];
        int pos = 0;
        e->name[0] = 0;
        sscanf(buf, "%lx-%lx %4s %lx %x:%x %lu %n", &e->start, &e->end, perm, &e->off, &e->major, &e->minor,
               &e->inode, &pos);
        sscanf(buf + pos, "%511[^\n]", e->name);
        e->flags = (perm[0] == 'r') | (perm[1] == 'w') << 1 | (perm[2] == 'x') << 2 | (perm[3] == 's') << 3;
        n++;
    }
    fclose(f);
    return n;
}

static int same(const struct query *q, const struct line *e) {
    const char *got = q->vma_name_size ? name : "";
    return q->vma_start == e->start && q->vma_end == e->end && q->vma_offset == e->off && q->inode == e->inode &&
           q->dev_major == e->major && q->dev_minor == e->minor && q->vma_flags == e->flags &&
           strcmp(got, e->name) == 0;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    void *grow = sbrk(0);
    sbrk(64 << 10); /* a heap to name */
    *(volatile char *)grow = 1;
    fd = open("/proc/self/maps", O_RDONLY);
    struct query q;
    if (ask(&q, 0, COVERING_OR_NEXT) != 0) {
        printf("PROCMAP_QUERY: %s\n", strerror(errno));
        return 0;
    }
    static struct line l[512];
    int n = read_maps(l, 512);
    int exact = 0, heap = 0, stack = 0;
    for (int i = 0; i < n; i++) {
        /* The vsyscall page is no mapping of the process: no query finds it. */
        if (strcmp(l[i].name, "[vsyscall]") == 0) {
            n = i;
            break;
        }
        if (ask(&q, l[i].start, 0) == 0 && same(&q, &l[i]))
            exact++;
        else
            printf("line %d differs: %s\n", i, l[i].name);
        heap += strcmp(l[i].name, "[heap]") == 0 && strcmp(name, "[heap]") == 0;
        stack += strcmp(l[i].name, "[stack]") == 0 && strcmp(name, "[stack]") == 0;
    }
    printf("lines answered exactly: %d of %d\n", exact == n, n > 5);
    printf("heap named: %d, stack named: %d\n", heap, stack);

    int walked = 0, in_order = 1;
    for (uint64_t at = 0; ask(&q, at, COVERING_OR_NEXT) == 0; at = q.vma_end) {
        in_order &= walked < n && same(&q, &l[walked]);
        walked++;
    }
    printf("walk: %s, every line in order: %d\n", strerror(errno), in_order && walked == n);

    int first_file = -1, first_w = -1, first_rx = -1;
    for (int i = n - 1; i >= 0; i--) {
        if (l[i].inode)
            first_file = i;
        if (l[i].flags & 2)
            first_w = i;
        if ((l[i].flags & 5) == 5 && l[i].inode)
            first_rx = i;
    }
    printf("file-backed filter: %d\n",
           ask(&q, 0, COVERING_OR_NEXT | FILE_BACKED) == 0 && first_file >= 0 && same(&q, &l[first_file]));
    printf("writable filter: %d\n", ask(&q, 0, COVERING_OR_NEXT | 2) == 0 && first_w >= 0 && same(&q, &l[first_w]));
    show("writable at r-x", first_rx >= 0 ? ask(&q, l[first_rx].start, 2) : -2);
    unsigned long gap = 0;
    for (int i = 1; i < n && !gap; i++)
        if (l[i].start > l[i - 1].end)
            gap = l[i - 1].end;
    show("a gap", gap ? ask(&q, gap, 0) : -2);
    printf("covering or next from the gap: %d\n", gap && ask(&q, gap, COVERING_OR_NEXT) == 0 && q.vma_start > gap);

    /* The program's own text: its build ID, and names that do not fit. */
    if (first_rx >= 0) {
        uint8_t id[64];
        ask(&q, l[first_rx].start, 0);
        q.build_id_addr = (uintptr_t)id;
        q.build_id_size = sizeof(id);
        long r = ioctl(fd, PROCMAP_QUERY, &q);
        printf("build id: %ld, size %u\n", r, q.build_id_size);
        ask(&q, l[first_rx].start, 0);
        q.vma_name_size = 4;
        show("a small name buffer", ioctl(fd, PROCMAP_QUERY, &q));
        ask(&q, l[first_rx].start, 0);
        q.vma_name_addr = 16;
        show("a bad name buffer", ioctl(fd, PROCMAP_QUERY, &q));
        ask(&q, l[first_rx].start, 0);
        q.vma_name_addr = 0;
        show("a name size without a buffer", ioctl(fd, PROCMAP_QUERY, &q));
    }
    ask(&q, 0, COVERING_OR_NEXT);
    q.size = 16;
    show("a size too small", ioctl(fd, PROCMAP_QUERY, &q));
    static uint64_t longer[32];
    memcpy(longer, &q, sizeof(q));
    longer[0] = sizeof(longer);
    longer[20] = 1;
    show("a longer structure, not zero", ioctl(fd, PROCMAP_QUERY, longer));
    longer[20] = 0;
    show("a longer structure, zero", ioctl(fd, PROCMAP_QUERY, longer));
    show("a bad structure", ioctl(fd, PROCMAP_QUERY, (void *)16));
    show("unknown flags", ask(&q, 0, 0x1000));
    int smaps = open("/proc/self/smaps", O_RDONLY);
    show("on smaps", ioctl(smaps, PROCMAP_QUERY, &q));
    return 0;
}
