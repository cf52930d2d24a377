/* Syscall User Dispatch (prctl PR_SET_SYSCALL_USER_DISPATCH, as Wine uses
 * it): the argument checks; a call from outside the allowed region while
 * the selector says BLOCK is not made and raises SIGSYS (SYS_USER_DISPATCH,
 * si_syscall, si_arch, si_call_addr the address after the `syscall`, rax
 * the number in the handler's context, the handler's rax the call's
 * result); ALLOW and the region let calls through; the inclusive mode; a
 * new thread and a forked child start without it (`dup_task_struct()`); a
 * selector of another value kills with SIGSYS, an unreadable one with
 * SIGSEGV. Compared with the native run (a kernel without the feature
 * refuses it there too). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#define SET_DISPATCH 59
#define DISPATCH_OFF 0
#define DISPATCH_ON 1
#define DISPATCH_INCLUSIVE 2
#define ALLOW 0
#define BLOCK 1

static volatile char sel = ALLOW;
static volatile int hits, code, nr_seen, arch_ok, addr_ok, rax_ok, thread_done;

static void on_sigsys(int sig, siginfo_t *si, void *ctx) {
    (void)sig;
    ucontext_t *uc = ctx;
    hits++;
    code = si->si_code;
    nr_seen = si->si_syscall;
    arch_ok = si->si_arch == 0xc000003e;
    addr_ok = (uint64_t)si->si_call_addr == (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
    rax_ok = uc->uc_mcontext.gregs[REG_RAX] == si->si_syscall;
    uc->uc_mcontext.gregs[REG_RAX] = 4242;
    sel = ALLOW;
}

/* A raw getppid whose `syscall` sits in this function. */
__attribute__((noinline, aligned(64))) static long in_region(void) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"((long)SYS_getppid) : "rcx", "r11", "memory");
    return r;
}

static void report(const char *what, long r) {
    printf("%s: %ld hits %d code %d nr %d arch %d addr %d rax %d\n", what, r, hits, code, nr_seen, arch_ok, addr_ok,
           rax_ok);
    hits = code = nr_seen = arch_ok = addr_ok = rax_ok = 0;
}

static long set(long mode, unsigned long off, unsigned long len, volatile char *s) {
    long r = prctl(SET_DISPATCH, mode, off, len, s);
    return r < 0 ? -errno : r;
}

static void *thread_main(void *arg) {
    (void)arg;
    sel = BLOCK;
    long r = syscall(SYS_getppid) == getppid();
    sel = ALLOW;
    report("thread", r);
    thread_done = 1;
    return NULL;
}

/* In a child: a call with the selector at `value`, or unreadable. */
static void child_dies(const char *what, int value, int unmapped) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        volatile char *s = &sel;
        if (unmapped)
            s = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        set(DISPATCH_ON, (unsigned long)in_region, 64, s);
        if (unmapped)
            munmap((void *)s, 4096);
        else
            sel = (char)value;
        syscall(SYS_getppid);
        _exit(0);
    }
    int st;
    sel = ALLOW;
    waitpid(pid, &st, 0);
    printf("%s: %s %d\n", what, WIFSIGNALED(st) ? "signal" : "exit",
           WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
    sigaction(SIGSYS, &sa, NULL);
    printf("off with a range: %ld\n", set(DISPATCH_OFF, 1, 0, NULL));
    printf("bad mode: %ld\n", set(7, 0, 0, NULL));
    printf("wrapping range: %ld\n", set(DISPATCH_ON, -1UL, 2, &sel));
    printf("selector in the kernel: %ld\n", set(DISPATCH_ON, 0, 0, (char *)0xffff800000000000UL));
    long on = set(DISPATCH_ON, (unsigned long)in_region, 64, &sel);
    printf("on: %ld\n", on);
    if (on != 0)
        return 0;
    report("allowed", syscall(SYS_getppid) == getppid());
    sel = BLOCK;
    long r = syscall(SYS_write, 1, "not made\n", 9);
    report("blocked write", r);
    sel = BLOCK;
    long ppid = in_region();
    sel = ALLOW;
    report("in the region", ppid == getppid());
    sel = ALLOW;
    pthread_t t;
    pthread_create(&t, NULL, thread_main, NULL);
    /* No call of this thread's while the other blocks them. */
    while (!thread_done)
        ;
    pthread_join(t, NULL);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        sel = BLOCK;
        long r2 = syscall(SYS_getpid) == getpid();
        sel = ALLOW;
        report("forked child", r2);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    child_dies("selector 2", 2, 0);
    child_dies("selector unmapped", 0, 1);
    /* Inclusive (Linux 6.16): only calls from the region are dispatched. */
    long inc = set(DISPATCH_INCLUSIVE, (unsigned long)in_region, 64, &sel);
    printf("inclusive: %ld\n", inc);
    if (inc == 0) {
        sel = BLOCK;
        long a = syscall(SYS_getppid);
        report("inclusive, outside", a == getppid());
        sel = BLOCK;
        report("inclusive, inside", in_region());
    }
    sel = ALLOW;
    printf("off: %ld\n", set(DISPATCH_OFF, 0, 0, NULL));
    sel = BLOCK;
    report("after off", syscall(SYS_getppid) == getppid());
    return 0;
}
