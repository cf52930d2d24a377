/* io_uring through raw syscalls, as liburing drives it: setup and the
 * rings mapped, NOP, WRITE and READ on a file, READV and WRITEV on a
 * pipe, READ_FIXED from registered buffers, a READ into a bad address
 * (-EFAULT in its completion), a TIMEOUT, an ASYNC_CANCEL, an eventfd
 * registered for completions, waits for completions with a signal set
 * (plain and IORING_ENTER_EXT_ARG) while a signal the set unblocks
 * arrives, and the call's errors. LTP io_uring01-03. Compared with the
 * native run; a host that refuses io_uring (kernel.io_uring_disabled)
 * prints the same refusal natively and under tern. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
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

static int ring;
static struct io_uring_params params;
static unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
static struct io_uring_sqe *sqes;
static struct io_uring_cqe *cqes;

static void show(const char *what, long r) {
    printf("%-36s %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
}

static long enter(unsigned submit, unsigned wait, unsigned flags, void *arg, size_t argsz) {
    return syscall(SYS_io_uring_enter, ring, submit, wait, flags, arg, argsz);
}

static struct io_uring_sqe *sqe(int op, int fd, uint64_t addr, unsigned len, uint64_t off, uint64_t data) {
    unsigned t = *sq_tail, i = t & *sq_mask;
    struct io_uring_sqe *e = &sqes[i];
    memset(e, 0, sizeof *e);
    e->opcode = op;
    e->fd = fd;
    e->addr = addr;
    e->len = len;
    e->off = off;
    e->user_data = data;
    sq_array[i] = i;
    __atomic_store_n(sq_tail, t + 1, __ATOMIC_RELEASE);
    return e;
}

/* Reaps `n` completions and prints them in user_data order. */
static void reap(int n) {
    struct io_uring_cqe got[16];
    int have = 0;
    while (have < n) {
        unsigned h = *cq_head;
        if (h == __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE)) {
            long r = enter(0, 1, IORING_ENTER_GETEVENTS, NULL, 0);
            if (r < 0 && errno != EINTR) {
                show("wait", r);
                return;
            }
            continue;
        }
        got[have++] = cqes[h & *cq_mask];
        __atomic_store_n(cq_head, h + 1, __ATOMIC_RELEASE);
    }
    for (int i = 0; i < have; i++)
        for (int j = i + 1; j < have; j++)
            if (got[j].user_data < got[i].user_data) {
                struct io_uring_cqe t = got[i];
                got[i] = got[j];
                got[j] = t;
            }
    for (int i = 0; i < have; i++)
        printf("  completion %llu: %d\n", (unsigned long long)got[i].user_data, got[i].res);
}

static volatile int got_usr1;
static void on_usr1(int sig) { got_usr1 = sig; }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    ring = syscall(SYS_io_uring_setup, 8, &params);
    if (ring < 0) {
        printf("io_uring refused: %s\n", strerror(errno));
        return 0;
    }
    printf("sq entries %u cq entries %u\n", params.sq_entries, params.cq_entries);
    size_t sq_len = params.sq_off.array + params.sq_entries * sizeof(unsigned);
    size_t cq_len = params.cq_off.cqes + params.cq_entries * sizeof(struct io_uring_cqe);
    char *sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQ_RING);
    char *cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_CQ_RING);
    sqes = mmap(NULL, params.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
    if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) {
        printf("ring mmap failed\n");
        return 1;
    }
    sq_tail = (unsigned *)(sq + params.sq_off.tail);
    sq_mask = (unsigned *)(sq + params.sq_off.ring_mask);
    sq_array = (unsigned *)(sq + params.sq_off.array);
    cq_head = (unsigned *)(cq + params.cq_off.head);
    cq_tail = (unsigned *)(cq + params.cq_off.tail);
    cq_mask = (unsigned *)(cq + params.cq_off.ring_mask);
    cqes = (struct io_uring_cqe *)(cq + params.cq_off.cqes);

    /* NOP, then a write and a read of a file. */
    FILE *tmp = tmpfile();
    int fd = fileno(tmp);
    static char text[] = "io_uring under emulation", back[64];
    sqe(IORING_OP_NOP, -1, 0, 0, 0, 1);
    show("enter nop", enter(1, 1, IORING_ENTER_GETEVENTS, NULL, 0));
    reap(1);
    sqe(IORING_OP_WRITE, fd, (uintptr_t)text, sizeof text - 1, 0, 2)->flags = IOSQE_IO_LINK;
    sqe(IORING_OP_READ, fd, (uintptr_t)back, sizeof back, 0, 3);
    show("enter write+read (linked)", enter(2, 2, IORING_ENTER_GETEVENTS, NULL, 0));
    reap(2);
    printf("  read back: %s\n", back);

    /* Vectors through a pipe; a read into a bad address. */
    int p[2];
    if (pipe(p))
        return 1;
    static char a1[] = "abc", a2[] = "defg", r1[3], r2[8];
    struct iovec out[2] = {{a1, 3}, {a2, 4}}, in[2] = {{r1, 3}, {r2, 8}};
    sqe(IORING_OP_WRITEV, p[1], (uintptr_t)out, 2, 0, 4)->flags = IOSQE_IO_LINK;
    sqe(IORING_OP_READV, p[0], (uintptr_t)in, 2, 0, 5);
    sqe(IORING_OP_READ, fd, 8, 16, 0, 6);
    show("enter vectors + bad read", enter(3, 3, IORING_ENTER_GETEVENTS, NULL, 0));
    reap(3);
    printf("  readv: %.3s %.4s\n", r1, r2);

    /* Registered buffers. */
    static char fixed[4096];
    struct iovec reg = {fixed, sizeof fixed};
    show("register buffers", syscall(SYS_io_uring_register, ring, IORING_REGISTER_BUFFERS, &reg, 1));
    sqe(IORING_OP_READ_FIXED, fd, (uintptr_t)fixed, 8, 3, 7)->buf_index = 0;
    enter(1, 1, IORING_ENTER_GETEVENTS, NULL, 0);
    reap(1);
    printf("  fixed: %.8s\n", fixed);
    show("unregister buffers", syscall(SYS_io_uring_register, ring, IORING_UNREGISTER_BUFFERS, NULL, 0));

    /* An eventfd counts completions; a timeout and its cancellation. */
    int efd = eventfd(0, 0);
    show("register eventfd", syscall(SYS_io_uring_register, ring, IORING_REGISTER_EVENTFD, &efd, 1));
    struct __kernel_timespec ts = {.tv_sec = 30};
    sqe(IORING_OP_TIMEOUT, -1, (uintptr_t)&ts, 1, 0, 8);
    enter(1, 0, 0, NULL, 0);
    sqe(IORING_OP_ASYNC_CANCEL, -1, 8, 0, 0, 9);
    enter(1, 2, IORING_ENTER_GETEVENTS, NULL, 0);
    reap(2);
    uint64_t count = 0;
    show("eventfd read", read(efd, &count, 8));
    printf("  completions counted: %s\n", count >= 2 ? "at least 2" : "fewer");

    /* A wait under a signal set: SIGUSR1 blocked outside, unblocked by the
     * set, sent by a timer while the thread waits. */
    signal(SIGUSR1, on_usr1);
    sigset_t block, during;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, NULL);
    sigemptyset(&during);
    timer_t t;
    struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
    timer_create(CLOCK_MONOTONIC, &sev, &t);
    struct itimerspec in50ms = {.it_value = {.tv_nsec = 50 * 1000 * 1000}};
    timer_settime(t, 0, &in50ms, NULL);
    long r = enter(0, 1, IORING_ENTER_GETEVENTS, &during, 8);
    show("wait with a set (interrupted)", r);
    printf("  handler ran: %d\n", got_usr1 == SIGUSR1);
    got_usr1 = 0;
    timer_settime(t, 0, &in50ms, NULL);
    struct io_uring_getevents_arg ext = {.sigmask = (uintptr_t)&during, .sigmask_sz = 8};
    r = enter(0, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &ext, sizeof ext);
    show("wait with EXT_ARG set (interrupted)", r);
    printf("  handler ran: %d\n", got_usr1 == SIGUSR1);
    struct __kernel_timespec short_wait = {.tv_nsec = 20 * 1000 * 1000};
    struct io_uring_getevents_arg tmo = {.ts = (uintptr_t)&short_wait};
    show("wait with EXT_ARG timeout", enter(0, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &tmo, sizeof tmo));
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("  SIGUSR1 blocked again: %d\n", sigismember(&now, SIGUSR1));

    /* Errors. */
    show("enter on a bad fd", syscall(SYS_io_uring_enter, 12345, 0, 0, 0, NULL, 0));
    show("enter with a bad arg size", enter(0, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &ext, 5));
    show("setup with 0 entries", syscall(SYS_io_uring_setup, 0, &params));
    show("setup with a bad params pointer", syscall(SYS_io_uring_setup, 4, (void *)8));
    show("register unknown opcode", syscall(SYS_io_uring_register, ring, 9999, NULL, 0));
    return 0;
}
