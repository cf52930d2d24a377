/* clone and clone3 with CLONE_VM but neither CLONE_THREAD nor CLONE_VFORK:
 * a new process (its own pid) on its parent's memory, running alongside
 * it. Its stores reach the parent, it is waited for with wait4/waitid, its
 * exit signal is sent to the parent, the tid words and CLONE_SETTLS are
 * honoured, and what is the child's own (descriptors without CLONE_FILES,
 * dispositions and mask without CLONE_SIGHAND) stays its own.
 *
 * The children share the parent's TLS (no CLONE_SETTLS but one) and run
 * on small stacks: they make raw syscalls only and never touch errno or
 * stdio. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long sys4(long nr, long a, long b, long c, long d) {
    long r;
    register long r10 __asm__("r10") = d;
    __asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
    return r;
}

#define STACK (64 * 1024)
static char stacks[4][STACK] __attribute__((aligned(16)));
static volatile int go, shared_word, ctid_word, ptid_word, child_pid_seen, child_ppid_seen;
static volatile long fs_seen, sum_seen;
static volatile int fd_seen, sigusr1_seen;

static void wait_clear(volatile int *w) {
    int v;
    while ((v = __atomic_load_n(w, __ATOMIC_SEQ_CST)) != 0)
        syscall(SYS_futex, w, 0 /* FUTEX_WAIT */, v, NULL, NULL, 0);
}

static void report(const char *what, pid_t pid, int opts) {
    int st;
    pid_t r = waitpid(pid, &st, opts);
    if (r != pid) {
        printf("%s: waitpid: %s\n", what, strerror(errno));
        return;
    }
    if (WIFEXITED(st))
        printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s: killed by %d\n", what, WTERMSIG(st));
}

/* Runs concurrently with its parent: waits for the parent's store made
 * after clone returned (a suspended parent would never make it), then
 * computes something through many blocks and stores it. */
static long fib(long n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static int worker(void *arg) {
    child_pid_seen = sys4(SYS_getpid, 0, 0, 0, 0);
    child_ppid_seen = sys4(SYS_getppid, 0, 0, 0, 0);
    while (!__atomic_load_n(&go, __ATOMIC_SEQ_CST))
        ;
    shared_word = 42;
    sum_seen = fib(20) + (long)arg;
    return 7;
}

static void concurrent(unsigned long extra, const char *what) {
    fflush(stdout);
    go = 0;
    shared_word = 0;
    sum_seen = 0;
    pid_t pid = clone(worker, stacks[0] + STACK, CLONE_VM | SIGCHLD | extra, (void *)1000);
    if (pid < 0) {
        printf("%s: clone: %s\n", what, strerror(errno));
        return;
    }
    __atomic_store_n(&go, 1, __ATOMIC_SEQ_CST);
    report(what, pid, 0);
    printf("%s: child stored %d and %ld, own pid %d, parent is its parent %d\n", what, shared_word, sum_seen,
           child_pid_seen == pid, child_ppid_seen == getpid());
}

static int tid_words(void *arg) {
    (void)arg;
    /* CLONE_CHILD_SETTID has stored the pid by now. */
    child_pid_seen = ctid_word;
    long fs = 0;
    sys4(SYS_arch_prctl, 0x1003 /* ARCH_GET_FS */, (long)&fs, 0, 0);
    fs_seen = fs;
    return 0;
}

/* CLONE_PARENT_SETTID, CLONE_CHILD_SETTID, CLONE_CHILD_CLEARTID (cleared
 * and woken at exit, as for a thread) and CLONE_SETTLS. */
static void tid_words_and_tls(void) {
    fflush(stdout);
    ctid_word = -1;
    ptid_word = -1;
    static long tls_block[8];
    long flags = CLONE_VM | SIGCHLD | CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | CLONE_SETTLS;
    pid_t pid = clone(tid_words, stacks[1] + STACK, flags, NULL, &ptid_word, tls_block, &ctid_word);
    if (pid < 0) {
        printf("tid words: clone: %s\n", strerror(errno));
        return;
    }
    wait_clear(&ctid_word);
    printf("tid words: parent's %d, child's %d, cleared at exit %d, fs base is the tls %d\n", ptid_word == pid,
           child_pid_seen == pid, ctid_word == 0, fs_seen == (long)tls_block);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int r = waitid(P_PID, pid, &si, WEXITED);
    printf("tid words: waitid %d, code %s, status %d, pid matches %d\n", r,
           si.si_code == CLD_EXITED ? "CLD_EXITED" : "other", si.si_status, si.si_pid == pid);
}

static int fd_opener(void *arg) {
    (void)arg;
    fd_seen = sys4(SYS_openat, AT_FDCWD, (long)"/dev/null", O_RDONLY, 0);
    return 0;
}

/* Descriptors: a copy of the table without CLONE_FILES, the same table with. */
static void files(unsigned long extra, const char *what) {
    fflush(stdout);
    pid_t pid = clone(fd_opener, stacks[2] + STACK, CLONE_VM | SIGCHLD | extra, NULL);
    report(what, pid, 0);
    int open_here = fcntl(fd_seen, F_GETFD) >= 0;
    printf("%s: child's descriptor open in the parent %d\n", what, open_here);
    if (open_here)
        close(fd_seen);
}

static int sig_changer(void *arg) {
    (void)arg;
    /* SIGUSR2 ignored and SIGUSR1 blocked, in the child only. */
    struct {
        void *handler;
        unsigned long flags;
        void *restorer;
        unsigned long mask;
    } act = {SIG_IGN, 0, 0, 0};
    sys4(SYS_rt_sigaction, SIGUSR2, (long)&act, 0, 8);
    unsigned long set = 1ul << (SIGUSR1 - 1);
    sys4(SYS_rt_sigprocmask, SIG_BLOCK, (long)&set, 0, 8);
    return 0;
}

static void on_usr1(int sig) {
    (void)sig;
    sigusr1_seen++;
}

/* The child's signal state is its own; its exit signal need not be SIGCHLD. */
static void signals(void) {
    fflush(stdout);
    signal(SIGUSR2, SIG_DFL);
    pid_t pid = clone(sig_changer, stacks[3] + STACK, CLONE_VM | SIGCHLD, NULL);
    report("signal state", pid, 0);
    struct sigaction sa;
    sigaction(SIGUSR2, NULL, &sa);
    sigset_t cur;
    sigprocmask(SIG_SETMASK, NULL, &cur);
    printf("signal state: parent's SIGUSR2 ignored %d, SIGUSR1 blocked %d\n", sa.sa_handler == SIG_IGN,
           sigismember(&cur, SIGUSR1));

    signal(SIGUSR1, on_usr1);
    sigusr1_seen = 0;
    pid = clone(fd_opener, stacks[3] + STACK, CLONE_VM | SIGUSR1, NULL);
    /* A child whose exit signal is not SIGCHLD is waited for with __WCLONE. */
    report("exit signal SIGUSR1", pid, __WCLONE);
    printf("exit signal SIGUSR1: parent got it %d\n", sigusr1_seen);
}

static int spinner(void *arg) {
    (void)arg;
    for (;;)
        __atomic_store_n(&shared_word, shared_word + 1, __ATOMIC_RELAXED);
    return 0;
}

/* A child killed while it runs: the parent sees the signal. */
static void killed(void) {
    fflush(stdout);
    shared_word = 0;
    pid_t pid = clone(spinner, stacks[0] + STACK, CLONE_VM | SIGCHLD, NULL);
    while (__atomic_load_n(&shared_word, __ATOMIC_RELAXED) < 1000)
        ;
    kill(pid, SIGKILL);
    report("killed child", pid, 0);
}

static int execer(void *arg) {
    char *argv[] = {"/bin/echo", "exec from a CLONE_VM child", NULL};
    sys4(SYS_execve, (long)argv[0], (long)argv, (long)arg, 0);
    return 99;
}

extern char **environ;

/* exec in the child: the parent's memory is left alone. */
static void exec_child(void) {
    fflush(stdout);
    pid_t pid = clone(execer, stacks[1] + STACK, CLONE_VM | SIGCHLD, environ);
    report("exec child", pid, 0);
}

/* clone3 with CLONE_VM and an exit_signal, the stack given as a range. */
static void via_clone3(void) {
    fflush(stdout);
    struct clone_args ca;
    memset(&ca, 0, sizeof ca);
    ca.flags = CLONE_VM | CLONE_PARENT_SETTID;
    ca.exit_signal = SIGCHLD;
    ca.stack = (uintptr_t)stacks[2];
    ca.stack_size = STACK;
    ca.parent_tid = (uintptr_t)&ptid_word;
    shared_word = 0;
    long ret;
    register long r12 __asm__("r12") = 5;
    __asm__ volatile("syscall\n\t"
                     "test %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "movl $5, shared_word(%%rip)\n\t"
                     "mov %%r12, %%rdi\n\t"
                     "mov $60, %%eax\n\t"
                     "syscall\n\t"
                     "ud2\n"
                     "1:"
                     : "=a"(ret)
                     : "a"(SYS_clone3), "D"(&ca), "S"(sizeof ca), "r"(r12)
                     : "rcx", "r11", "memory");
    if (ret < 0) {
        printf("clone3: %s\n", strerror(-ret));
        return;
    }
    report("clone3", ret, 0);
    printf("clone3: child stored %d, parent tid word %d\n", shared_word, ptid_word == ret);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    concurrent(0, "CLONE_VM|SIGCHLD");
    concurrent(CLONE_FILES | CLONE_FS, "CLONE_VM|CLONE_FILES|CLONE_FS");
    tid_words_and_tls();
    files(0, "without CLONE_FILES");
    files(CLONE_FILES, "with CLONE_FILES");
    signals();
    killed();
    exec_child();
    via_clone3();
    /* Many in a row, each running alongside its parent. */
    int ok = 0;
    for (int i = 0; i < 200; i++) {
        go = 1;
        pid_t pid = clone(worker, stacks[0] + STACK, CLONE_VM | SIGCHLD, (void *)(long)i);
        int st;
        if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 7 &&
            sum_seen == 6765 + i)
            ok++;
    }
    printf("200 children in a row: %d ok\n", ok);
    return 0;
}
