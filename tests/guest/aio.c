/* Linux AIO through raw syscalls (as libaio, MariaDB's InnoDB and fio use
 * it): io_setup, io_submit of pwrite/pread/preadv/fsync/poll blocks with and
 * without an eventfd (IOCB_FLAG_RESFD), io_getevents, io_pgetevents with a
 * signal mask while a signal arrives, io_cancel, the ring read from user
 * space (libaio's fast path), a read into a page of code the program has
 * run (the new bytes must run), submission errors (bad fd mid-batch, bad
 * opcode, bad context, negative count) and io_destroy. LTP io_setup01,
 * io_submit01, io_getevents01, io_pgetevents01/02, io_cancel01/02,
 * io_destroy01. Compared with the native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static long io_setup(unsigned n, aio_context_t *ctx) { return syscall(SYS_io_setup, n, ctx); }
static long io_destroy(aio_context_t ctx) { return syscall(SYS_io_destroy, ctx); }
static long io_submit(aio_context_t ctx, long n, struct iocb **cbs) { return syscall(SYS_io_submit, ctx, n, cbs); }
static long io_getevents(aio_context_t ctx, long min, long n, struct io_event *ev, struct timespec *t) {
    return syscall(SYS_io_getevents, ctx, min, n, ev, t);
}

static void show(const char *what, long r) {
    printf("%-40s %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
}

static struct iocb cb(int op, int fd, void *buf, size_t n, long long off, uint64_t data) {
    struct iocb c;
    memset(&c, 0, sizeof c);
    c.aio_lio_opcode = op;
    c.aio_fildes = fd;
    c.aio_buf = (uint64_t)(uintptr_t)buf;
    c.aio_nbytes = n;
    c.aio_offset = off;
    c.aio_data = data;
    return c;
}

/* Waits for exactly `n` events and prints them in aio_data order. */
static void reap(aio_context_t ctx, int n) {
    struct io_event ev[8];
    struct timespec t = {5, 0};
    int got = 0;
    while (got < n) {
        long r = io_getevents(ctx, 1, n - got, ev + got, &t);
        if (r <= 0) {
            show("io_getevents", r);
            return;
        }
        got += r;
    }
    for (int i = 0; i < got; i++)
        for (int j = i + 1; j < got; j++)
            if (ev[j].data < ev[i].data) {
                struct io_event x = ev[i];
                ev[i] = ev[j];
                ev[j] = x;
            }
    for (int i = 0; i < got; i++)
        printf("  event data=%llu res=%lld\n", (unsigned long long)ev[i].data, (long long)ev[i].res);
}

static void on_usr1(int s) { (void)s; }

/* Code the program runs, then overwrites through an AIO read. */
static unsigned char ret1[] = {0xb8, 1, 0, 0, 0, 0xc3};  /* mov eax,1; ret */
static unsigned char ret2[] = {0xb8, 2, 0, 0, 0, 0xc3};  /* mov eax,2; ret */

int main(void) {
    aio_context_t ctx = 0;
    show("io_setup", io_setup(16, &ctx));
    show("io_setup busy ctx", io_setup(16, &ctx));
    aio_context_t bad = 0;
    show("io_setup 0 events", io_setup(0, &bad));

    /* The ring: libaio checks its magic from user space. */
    struct aio_ring_hdr { unsigned id, nr, head, tail, magic, compat, incompat, hdr; } *ring = (void *)ctx;
    printf("ring magic %#x nr>=16 %d head %u tail %u\n", ring->magic, ring->nr >= 16, ring->head, ring->tail);

    char path[] = "/tmp/tern-aio-XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    char out[4096], in[4096], in2[100];
    for (int i = 0; i < (int)sizeof out; i++)
        out[i] = (char)('a' + i % 26);

    struct iocb w = cb(IOCB_CMD_PWRITE, fd, out, sizeof out, 0, 1);
    struct iocb s = cb(IOCB_CMD_FSYNC, fd, 0, 0, 0, 2);
    struct iocb *ws[] = {&w, &s};
    show("io_submit pwrite+fsync", io_submit(ctx, 2, ws));
    reap(ctx, 2);

    memset(in, 0, sizeof in);
    struct iovec iov[2] = {{in2, sizeof in2}, {in, 50}};
    struct iocb r = cb(IOCB_CMD_PREAD, fd, in, 1000, 10, 3);
    struct iocb rv = cb(IOCB_CMD_PREADV, fd, iov, 2, 4000, 4);
    struct iocb *rs[] = {&r, &rv};
    show("io_submit pread+preadv", io_submit(ctx, 2, rs));
    reap(ctx, 2);
    printf("pread ok %d preadv ok %d\n", memcmp(in, out + 10, 1000) == 0, memcmp(in2, out + 4000, 96) == 0);

    /* A poll block on a pipe, completed through an eventfd. */
    int p[2];
    if (pipe(p) != 0)
        return 1;
    int efd = eventfd(0, 0);
    struct iocb pl = cb(IOCB_CMD_POLL, p[0], 0, 0, 0, 5);
    pl.aio_buf = POLLIN;
    pl.aio_flags = IOCB_FLAG_RESFD;
    pl.aio_resfd = efd;
    struct iocb *ps[] = {&pl};
    show("io_submit poll", io_submit(ctx, 1, ps));
    if (write(p[1], "x", 1) != 1)
        return 1;
    uint64_t n = 0;
    show("eventfd read", read(efd, &n, 8));
    printf("eventfd count %llu\n", (unsigned long long)n);
    reap(ctx, 1);

    /* io_cancel of a poll that never completes. */
    int q[2];
    if (pipe(q) != 0)
        return 1;
    struct iocb pc = cb(IOCB_CMD_POLL, q[0], 0, 0, 0, 6);
    pc.aio_buf = POLLIN;
    struct iocb *pcs[] = {&pc};
    show("io_submit poll to cancel", io_submit(ctx, 1, pcs));
    struct io_event cev;
    long c = syscall(SYS_io_cancel, ctx, &pc, &cev);
    show("io_cancel", c);
    reap(ctx, 1);
    struct iocb never = cb(IOCB_CMD_PREAD, fd, in, 10, 0, 7);
    show("io_cancel not submitted", syscall(SYS_io_cancel, ctx, &never, &cev));

    /* io_pgetevents with SIGUSR1 unblocked only during the wait. */
    signal(SIGUSR1, on_usr1);
    sigset_t block, wait;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, NULL);
    raise(SIGUSR1);
    sigemptyset(&wait);
    struct { const sigset_t *set; size_t size; } usig = {&wait, 8};
    struct io_event ev;
    struct timespec t = {2, 0};
    show("io_pgetevents pending signal", syscall(SYS_io_pgetevents, ctx, 1, 1, &ev, &t, &usig));
    struct timespec zero = {0, 0};
    show("io_pgetevents nothing", syscall(SYS_io_pgetevents, ctx, 0, 1, &ev, &zero, &usig));

    /* Submission errors. */
    struct iocb ok = cb(IOCB_CMD_PREAD, fd, in, 10, 0, 8);
    struct iocb badfd = cb(IOCB_CMD_PREAD, 12345, in, 10, 0, 9);
    struct iocb badop = cb(99, fd, in, 10, 0, 10);
    struct iocb *mixed[] = {&ok, &badfd};
    show("io_submit ok then bad fd", io_submit(ctx, 2, mixed));
    reap(ctx, 1);
    struct iocb *first_bad[] = {&badfd, &ok};
    show("io_submit bad fd first", io_submit(ctx, 2, first_bad));
    struct iocb *ops[] = {&badop};
    show("io_submit bad opcode", io_submit(ctx, 1, ops));
    show("io_submit bad context", io_submit(ctx + 4096, 1, mixed));
    show("io_submit negative count", io_submit(ctx, -1, mixed));
    show("io_submit zero", io_submit(ctx, 0, mixed));
    show("io_submit bad array", io_submit(ctx, 1, (struct iocb **)8));

    /* Run code, then read new code over it with AIO, and run it again. */
    long pg = sysconf(_SC_PAGESIZE);
    unsigned char *code = mmap(NULL, pg, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(code, ret1, sizeof ret1);
    int (*f)(void) = (int (*)(void))code;
    printf("code before %d\n", f());
    if (pwrite(fd, ret2, sizeof ret2, 8192) != (ssize_t)sizeof ret2)
        return 1;
    struct iocb rc = cb(IOCB_CMD_PREAD, fd, code, sizeof ret2, 8192, 11);
    struct iocb *rcs[] = {&rc};
    show("io_submit read over code", io_submit(ctx, 1, rcs));
    reap(ctx, 1);
    printf("code after %d\n", f());

    show("io_destroy", io_destroy(ctx));
    show("io_destroy again", io_destroy(ctx));
    show("io_getevents destroyed", io_getevents(ctx, 0, 1, &ev, &zero));
    return 0;
}
