/* Stop-the-world with ptrace, the way LeakSanitizer does it: a tracer made
 * with clone(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_UNTRACED), sharing
 * the process's memory, lists /proc/PPID/task, attaches to every thread,
 * waits for each stop, reads (and changes) registers, then detaches. The
 * tracer uses raw syscalls only (it runs on the parent thread's TLS) and
 * records what it saw in memory; the main thread prints it afterwards.
 *
 * Threads: the main thread (spinning on sched_yield until the tracer is
 * done), a thread spinning in an asm loop with known values in r12, r14
 * and xmm7 (the tracer checks them, then sets r14 so the loop ends), and a
 * thread blocked in read() on a pipe (seized and interrupted instead of
 * attached; its read must still complete after the detach), and one in
 * clock_nanosleep. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cpuid.h>

#define MAGIC_R12 0x1122334455667788ull
#define MAGIC_XMM 0x0badc0ffee0ddf00ull

static long raw5(long nr, long a, long b, long c, long d, long e) {
    long r;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    __asm__ volatile("syscall" : "=a"(r) : "0"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8) : "rcx", "r11", "memory");
    return r;
}

static long raw(long nr, long a, long b, long c, long d) {
    return raw5(nr, a, b, c, d, 0);
}

static volatile int spinner_tid, reader_tid, sleeper_tid, main_tid;
static volatile long sleep_result = -1;
static volatile uint64_t spinner_r12_after, spinner_r14_after;
static volatile int tracer_done;
static volatile uint64_t peek_target = 0x5eed5eed5eed5eedull;
static int pipefd[2];
static uintptr_t spin_stack_lo, spin_stack_hi;

/* What the tracer saw, printed by the main thread. */
static struct {
    int tasks;
    int attached;
    int stops_sigstop;
    int r12_ok, xmm7_ok, rsp_in_stack, regset_same, peek_ok, xstate_size_ok, fpregset_same;
    int interrupt_status_ok, nohang_zero;
    long own_group_attach, cont_untraced, second_attach;
    int detached;
} seen;

static void *spinner(void *arg) {
    (void)arg;
    pthread_attr_t a;
    void *lo;
    size_t sz;
    pthread_getattr_np(pthread_self(), &a);
    pthread_attr_getstack(&a, &lo, &sz);
    spin_stack_lo = (uintptr_t)lo;
    spin_stack_hi = (uintptr_t)lo + sz;
    spinner_tid = gettid();
    uint64_t r12, r14;
    __asm__ volatile(
        "movabs %[m], %%r12\n"
        "movabs %[x], %%rax\n"
        "movq %%rax, %%xmm7\n"
        "xor %%r14, %%r14\n"
        "1: pause\n"
        "test %%r14, %%r14\n"
        "jz 1b\n"
        "mov %%r12, %[r12]\n"
        "mov %%r14, %[r14]\n"
        : [r12] "=m"(r12), [r14] "=m"(r14)
        : [m] "i"(MAGIC_R12), [x] "i"(MAGIC_XMM)
        : "rax", "r12", "r14", "xmm7", "cc");
    spinner_r12_after = r12;
    spinner_r14_after = r14;
    return 0;
}

static char got[16];
static long got_n;

static void *reader(void *arg) {
    (void)arg;
    reader_tid = gettid();
    got_n = read(pipefd[0], got, sizeof got);
    return 0;
}

/* Asleep in a call with a relative timeout while it is stopped: the call
 * goes on afterwards (it is still asleep after the detach) until a signal
 * ends it. */
static volatile int sleeper_woke;

static void on_usr1(int sig) {
    (void)sig;
}

static void *sleeper(void *arg) {
    (void)arg;
    sleeper_tid = gettid();
    struct timespec ts = {30, 0};
    sleep_result = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, 0);
    sleeper_woke = 1;
    return 0;
}

static int waitstop(int tid, int *status) {
    long r;
    do
        r = raw(SYS_wait4, tid, (long)status, __WALL, 0);
    while (r == -EINTR);
    return (int)r;
}

static char dents[8192];
static char path[64];

static int tracer(void *arg) {
    (void)arg;
    int ppid = (int)raw(SYS_getppid, 0, 0, 0, 0);
    /* /proc/PPID/task: every thread of the traced process. */
    char *p = path;
    memcpy(p, "/proc/", 6);
    p += 6;
    char digits[16];
    int n = 0;
    for (int v = ppid; v; v /= 10)
        digits[n++] = (char)('0' + v % 10);
    while (n)
        *p++ = digits[--n];
    memcpy(p, "/task", 6);
    int fd = (int)raw(SYS_open, (long)path, O_RDONLY | O_DIRECTORY, 0, 0);
    int tids[64], ntids = 0;
    long len;
    while ((len = raw(SYS_getdents64, fd, (long)dents, sizeof dents, 0)) > 0) {
        for (long off = 0; off < len;) {
            struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; } *d =
                (void *)(dents + off);
            if (d->name[0] != '.' && ntids < 64) {
                int t = 0;
                for (char *c = d->name; *c; c++)
                    t = t * 10 + (*c - '0');
                tids[ntids++] = t;
            }
            off += d->reclen;
        }
    }
    raw(SYS_close, fd, 0, 0, 0);
    seen.tasks = ntids;

    for (int i = 0; i < ntids; i++) {
        int tid = tids[i], status = 0;
        if (tid == reader_tid) {
            /* Seized, then interrupted: a PTRACE_EVENT_STOP stop. */
            if (raw(SYS_ptrace, PTRACE_SEIZE, tid, 0, 0) != 0 || raw(SYS_ptrace, PTRACE_INTERRUPT, tid, 0, 0) != 0)
                continue;
            seen.attached++;
            if (waitstop(tid, &status) == tid && WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP &&
                (status >> 16) == PTRACE_EVENT_STOP)
                seen.interrupt_status_ok = 1;
            continue;
        }
        if (raw(SYS_ptrace, PTRACE_ATTACH, tid, 0, 0) != 0)
            continue;
        seen.attached++;
        if (tid == main_tid) {
            /* waitid reports the stop as CLD_TRAPPED. */
            siginfo_t si;
            long r;
            memset(&si, 0, sizeof si);
            do
                r = raw(SYS_waitid, P_PID, tid, (long)&si, WEXITED | WSTOPPED | __WALL);
            while (r == -EINTR);
            if (r == 0 && si.si_signo == SIGCHLD && si.si_code == CLD_TRAPPED && si.si_pid == tid &&
                si.si_status == SIGSTOP)
                seen.stops_sigstop++;
        } else if (waitstop(tid, &status) == tid && WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP)
            seen.stops_sigstop++;
        if (tid == spinner_tid) {
            seen.second_attach = raw(SYS_ptrace, PTRACE_ATTACH, tid, 0, 0);
            seen.nohang_zero = raw(SYS_wait4, tid, (long)&status, __WALL | WNOHANG, 0) == 0;
        }
    }

    /* The spinner's registers, three ways. */
    int tid = spinner_tid;
    struct user_regs_struct regs, regs2;
    struct iovec iov = {&regs2, sizeof regs2};
    if (raw(SYS_ptrace, PTRACE_GETREGS, tid, 0, (long)&regs) == 0 &&
        raw(SYS_ptrace, PTRACE_GETREGSET, tid, NT_PRSTATUS, (long)&iov) == 0) {
        seen.r12_ok = regs.r12 == MAGIC_R12;
        seen.rsp_in_stack = regs.rsp >= spin_stack_lo && regs.rsp < spin_stack_hi;
        seen.regset_same = iov.iov_len == sizeof regs && memcmp(&regs, &regs2, sizeof regs) == 0;
    }
    struct user_fpregs_struct fp, fp2;
    struct iovec fiov = {&fp2, sizeof fp2};
    if (raw(SYS_ptrace, PTRACE_GETFPREGS, tid, 0, (long)&fp) == 0 &&
        raw(SYS_ptrace, PTRACE_GETREGSET, tid, NT_PRFPREG, (long)&fiov) == 0) {
        uint64_t x7;
        memcpy(&x7, (char *)fp.xmm_space + 7 * 16, 8);
        seen.xmm7_ok = x7 == MAGIC_XMM;
        seen.fpregset_same = fiov.iov_len == sizeof fp && memcmp(&fp, &fp2, 160 + 8 * 16) == 0;
    }
    /* NT_X86_XSTATE: XCR0 in the first software-reserved word, no larger
     * than CPUID says an XSAVE area may be. */
    static char xbuf[16384];
    struct iovec xiov = {xbuf, sizeof xbuf};
    unsigned a, b, c, d, lo, hi;
    __cpuid_count(0xd, 0, a, b, c, d);
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if (raw(SYS_ptrace, PTRACE_GETREGSET, tid, NT_X86_XSTATE, (long)&xiov) == 0) {
        uint64_t xcr0;
        memcpy(&xcr0, xbuf + 464, 8);
        seen.xstate_size_ok = xiov.iov_len >= 576 && xiov.iov_len <= b && xcr0 == ((uint64_t)hi << 32 | lo);
    }
    long word = 0;
    if (raw(SYS_ptrace, PTRACE_PEEKDATA, tid, (long)&peek_target, (long)&word) == 0)
        seen.peek_ok = (uint64_t)word == peek_target;
    /* End the spin loop: r14 = 1. */
    regs.r14 = 1;
    raw(SYS_ptrace, PTRACE_SETREGS, tid, 0, (long)&regs);

    for (int i = 0; i < ntids; i++)
        if (raw(SYS_ptrace, PTRACE_DETACH, tids[i], 0, 0) == 0)
            seen.detached++;
    __atomic_store_n(&tracer_done, 1, __ATOMIC_RELEASE);
    return 0;
}

int main(void) {
    main_tid = gettid();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, 0);
    if (pipe(pipefd) != 0)
        return 1;
    pthread_t s, r, z;
    pthread_create(&s, 0, spinner, 0);
    pthread_create(&r, 0, reader, 0);
    pthread_create(&z, 0, sleeper, 0);
    while (!spinner_tid || !reader_tid || !sleeper_tid)
        sched_yield();
    usleep(20000); /* the reader is in read() by now */

    /* Tracing a thread of one's own group is refused; so is a request on
     * a thread one does not trace. */
    errno = 0;
    seen.own_group_attach = ptrace(PTRACE_ATTACH, reader_tid, 0, 0) == -1 ? errno : 0;
    errno = 0;
    seen.cont_untraced = ptrace(PTRACE_CONT, reader_tid, 0, 0) == -1 ? errno : 0;

    size_t stack_size = 1 << 20;
    char *stack = mmap(0, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int t = clone(tracer, stack + stack_size, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_UNTRACED, 0);
    pthread_sigmask(SIG_SETMASK, &old, 0);
    if (t < 0) {
        perror("clone");
        return 1;
    }
    prctl(PR_SET_PTRACER, t, 0, 0, 0);
    while (!__atomic_load_n(&tracer_done, __ATOMIC_ACQUIRE))
        sched_yield();
    int st;
    while (waitpid(t, &st, __WALL) < 0 && errno == EINTR)
        ;
    if (write(pipefd[1], "after", 5) != 5)
        return 1;
    int still_asleep = !sleeper_woke;
    pthread_kill(z, SIGUSR1);
    pthread_join(s, 0);
    pthread_join(r, 0);
    pthread_join(z, 0);

    printf("threads listed: %d, attached: %d, SIGSTOP stops: %d, detached: %d\n", seen.tasks, seen.attached,
           seen.stops_sigstop, seen.detached);
    printf("attach to own thread group: %s\n", strerror((int)seen.own_group_attach));
    printf("cont of an untraced thread: %s\n", strerror((int)seen.cont_untraced));
    printf("second attach: %s\n", seen.second_attach ? strerror((int)-seen.second_attach) : "ok");
    printf("WNOHANG after the stop was reported: %s\n", seen.nohang_zero ? "0" : "other");
    printf("interrupt stop: %s\n", seen.interrupt_status_ok ? "PTRACE_EVENT_STOP" : "wrong");
    printf("r12: %d, xmm7: %d, rsp in its stack: %d, NT_PRSTATUS = GETREGS: %d\n", seen.r12_ok, seen.xmm7_ok,
           seen.rsp_in_stack, seen.regset_same);
    printf("NT_PRFPREG = GETFPREGS: %d, NT_X86_XSTATE XCR0 and size: %d, PEEKDATA: %d\n", seen.fpregset_same,
           seen.xstate_size_ok, seen.peek_ok);
    printf("spinner after SETREGS: r12 %s, r14 = %llu\n", spinner_r12_after == MAGIC_R12 ? "kept" : "lost",
           (unsigned long long)spinner_r14_after);
    printf("reader after the detach: %ld \"%.*s\"\n", got_n, (int)(got_n > 0 ? got_n : 0), got);
    printf("sleeper: asleep after the detach: %d, then clock_nanosleep returned %s\n", still_asleep,
           strerror((int)sleep_result));
    return 0;
}
