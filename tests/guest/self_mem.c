/* /proc/self/mem: code patched through it runs patched, and nothing of
 * tern's shows through it. The kernel writes there past page protection
 * (FOLL_FORCE), so a guest keeping its code read-only (W^X hot-patchers,
 * JITs) can change code without a write tern would notice: tern ran the
 * old translation. Each write call (write after lseek, pwrite, writev,
 * pwritev, pwritev2 at the current position) patches a function's return
 * value, in an anonymous read+exec mapping and in this program's own text,
 * after the function has run. Then every gap between the mappings
 * /proc/self/maps shows is probed, reading and writing back one byte:
 * natively nothing is there (EIO); under tern, tern's own memory may be,
 * and must not be read or written. Compared with the native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

typedef int (*fn)(void);

__attribute__((noinline, aligned(64))) int in_text(void) {
    __asm__ volatile("");
    return 100;
}

/* `mov eax, v; ret` */
static void code(unsigned char *b, int v) {
    b[0] = 0xb8;
    memcpy(b + 1, &v, 4);
    b[5] = 0xc3;
}

static int mem;

static long patch(int how, void *at, int v) {
    unsigned char b[6];
    code(b, v);
    off_t off = (off_t)(unsigned long)at;
    struct iovec iov[2] = {{b, 3}, {b + 3, 3}};
    switch (how) {
    case 0:
        lseek(mem, off, SEEK_SET);
        return write(mem, b, sizeof b);
    case 1:
        return pwrite(mem, b, sizeof b, off);
    case 2:
        lseek(mem, off, SEEK_SET);
        return writev(mem, iov, 2);
    case 3:
        return pwritev(mem, iov, 2, off);
    default:
        lseek(mem, off, SEEK_SET);
        return pwritev2(mem, iov, 2, -1, 0);
    }
}

static void probe_gaps(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    unsigned long prev = 0x10000, gaps = 0, readable = 0, writable = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long s, e;
        if (sscanf(line, "%lx-%lx", &s, &e) != 2 || s >= 0x800000000000ul)
            break;
        for (unsigned long at = prev; s > prev && at < s; at += (s - prev) / 4 + 1) {
            unsigned char byte;
            gaps++;
            if (pread(mem, &byte, 1, (off_t)at) == 1) {
                readable++;
                writable += pwrite(mem, &byte, 1, (off_t)at) == 1;
            } else if (errno != EIO) {
                printf("pread at a gap: %s\n", strerror(errno));
            }
            unsigned char buf[64];
            struct iovec v = {buf, sizeof buf};
            readable += preadv(mem, &v, 1, (off_t)at) > 0;
        }
        prev = e;
    }
    fclose(f);
    printf("gaps probed %s, readable %lu, writable %lu\n", gaps ? "some" : "none", readable, writable);
}

int main(void) {
    mem = open("/proc/self/mem", O_RDWR);
    unsigned char *page = mmap(0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem < 0 || page == MAP_FAILED)
        return 1;
    printf("pwrite into the page: %ld\n", patch(1, page, 1));
    for (int how = 0; how < 5; how++) {
        int before = ((fn)page)();
        long r = patch(how, page, 10 + how);
        int after = ((fn)page)();
        int t0 = in_text();
        long r2 = patch(how, (void *)in_text, 200 + how);
        int t1 = in_text();
        printf("call %d: page %d -> %d (%ld), text %d -> %d (%ld)\n", how, before, after, r, t0, t1, r2);
    }
    /* A patch to a second function in the page, the first left as it is. */
    unsigned char two[6];
    code(two, 7);
    pwrite(mem, two, sizeof two, (off_t)(unsigned long)(page + 64));
    printf("both: %d %d\n", ((fn)page)(), ((fn)(page + 64))());
    probe_gaps();
    return 0;
}
