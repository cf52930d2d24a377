/* Guest of the syscall fuzzer (fuzz-guest/src/sys).
 *
 * Maps its arenas at fixed addresses, writes "READY\n" to stdout, then reads
 * from stdin: the magic "TFUZSYS1", the number of calls (u64), the content
 * of the data arena (ARENA_DATA bytes) and one record per call (number and
 * six arguments, u64 each). It sets up its descriptors (stdout moved to
 * PROGRESS_FD, /dev/null on 1, /dev/zero on 3, a memfd on 4) and makes each
 * call with the raw syscall instruction, writing {index, result} to
 * PROGRESS_FD after each one, and "DONE" at the end. Only raw syscalls are
 * used once the calls begin: a call may have changed anything the C library
 * relies on (TLS, signal masks, descriptors). Exit code 0 at the end, 2 when
 * the input or set-up is bad. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Above where the kernel may start a static program's break (up to
 * 1 GiB past its end): the fuzzer's `sys/mod.rs` names the same. */
#define ARENA 0x50000000UL
#define ARENA_DATA 0x10000UL /* read-write, filled from the input */
#define ARENA_RO (ARENA + ARENA_DATA)
#define ARENA_NONE (ARENA_RO + 0x1000UL)
#define ARENA_SIZE (ARENA_DATA + 0x2000UL)
#define MM_ARENA 0x60000000UL /* 1 MiB, PROT_NONE: target of the memory calls */
#define MM_ARENA_SIZE 0x100000UL
#define PROGRESS_FD 1023
#define MAX_CALLS 8192

struct call {
    uint64_t nr, a[6];
};
static struct call calls[MAX_CALLS];

static long raw6(long n, long a, long b, long c, long d, long e, long f) {
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

static int read_all(void *buf, size_t len) {
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(0, p, len);
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int main(void) {
    if (mmap((void *)ARENA, ARENA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1,
             0) != (void *)ARENA)
        return 2;
    if (mmap((void *)MM_ARENA, MM_ARENA_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) !=
        (void *)MM_ARENA)
        return 2;
    if (write(1, "READY\n", 6) != 6)
        return 2;
    uint64_t head[2];
    if (read_all(head, sizeof head) || memcmp(head, "TFUZSYS1", 8) || head[1] > MAX_CALLS)
        return 2;
    if (read_all((void *)ARENA, ARENA_DATA) || read_all(calls, head[1] * sizeof(struct call)))
        return 2;
    memcpy((void *)ARENA_RO, (void *)ARENA, 0x1000);
    if (mprotect((void *)ARENA_RO, 0x1000, PROT_READ) || mprotect((void *)ARENA_NONE, 0x1000, PROT_NONE))
        return 2;
    int null = open("/dev/null", O_RDWR);
    int zero = open("/dev/zero", O_RDWR);
    int mem = memfd_create("fuzz", 0);
    /* stdin becomes /dev/null too: a random read(0, ...) must not depend on
     * when the fuzzer closes its end of the input pipe. */
    if (null < 0 || zero < 0 || mem < 0 || dup2(1, PROGRESS_FD) != PROGRESS_FD || dup2(null, 0) != 0 ||
        dup2(null, 1) != 1 ||
        dup2(zero, 3) != 3 || dup2(mem, 4) != 4 || write(4, (void *)ARENA, 0x3000) != 0x3000)
        return 2;
    if (null > 4)
        close(null);
    if (zero > 4)
        close(zero);
    if (mem > 4)
        close(mem);
    for (uint64_t i = 0; i < head[1]; i++) {
        const struct call *c = &calls[i];
        uint64_t rec[2] = {i, 0};
        raw6(1, PROGRESS_FD, (long)rec, 8, 0, 0, 0);
        rec[1] = (uint64_t)raw6((long)c->nr, (long)c->a[0], (long)c->a[1], (long)c->a[2], (long)c->a[3],
                                (long)c->a[4], (long)c->a[5]);
        raw6(1, PROGRESS_FD, (long)&rec[1], 8, 0, 0, 0);
    }
    raw6(1, PROGRESS_FD, (long)"DONEDONE", 8, 0, 0, 0);
    raw6(231, 0, 0, 0, 0, 0, 0);
    return 0;
}
