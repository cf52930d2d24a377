/* seccomp as sandboxes use it (OpenSSH's privilege separation, systemd's
 * SystemCallFilter, browsers, container runtimes): strict mode, classic-BPF
 * filters on the syscall number, its arguments, the architecture and the
 * instruction pointer, every action (errno, SIGSYS with the kernel's
 * siginfo and a handler that answers the call itself, killing the thread
 * or the process), chains of filters, inheritance by threads, forked
 * children and exec'd programs, TSYNC, and the errors of a bad filter or
 * request. Each case runs in its own child. LTP seccomp01 and prctl02.
 * Compared with the native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#define NR offsetof(struct seccomp_data, nr)
#define ARCH offsetof(struct seccomp_data, arch)
#define IP offsetof(struct seccomp_data, instruction_pointer)
#define ARG0 offsetof(struct seccomp_data, args[0])

static const char *self;

static void show(const char *what, long r) {
    printf("%-40s %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
}

static long install(unsigned flags, struct sock_filter *f, unsigned short n) {
    struct sock_fprog p = {.len = n, .filter = f};
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &p);
}

/* A filter that gives `action` to syscall `nr` and allows the rest. */
static long only(int nr, unsigned action) {
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, action),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    return install(0, f, 4);
}

/* Runs `body` in a child and prints how it ended. */
static void in_child(const char *name, void (*body)(void)) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        body();
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st))
        printf("%s: killed by signal %d\n", name, WTERMSIG(st));
    else
        printf("%s: exit %d\n", name, WEXITSTATUS(st));
}

static void strict_write_then_getpid(void) {
    show("seccomp strict", syscall(SYS_seccomp, SECCOMP_SET_MODE_STRICT, 0, NULL));
    static const char msg[] = "strict: write allowed\n";
    syscall(SYS_write, 1, msg, sizeof msg - 1);
    syscall(SYS_getpid);
    syscall(SYS_write, 1, "not reached\n", 12);
}

static void strict_prctl_exit(void) {
    show("prctl strict", prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0));
    char c;
    long r = syscall(SYS_read, -1, &c, 1);
    char line[64];
    int n = snprintf(line, sizeof line, "strict read of fd -1: %ld\n", r);
    syscall(SYS_write, 1, line, n);
    syscall(SYS_exit, 3);
}

static void errno_filter(void) {
    show("get seccomp before", prctl(PR_GET_SECCOMP));
    show("filter errno EPERM for getppid", only(SYS_getppid, SECCOMP_RET_ERRNO | EPERM));
    show("getppid", syscall(SYS_getppid));
    show("getpid allowed", syscall(SYS_getpid) > 0);
    show("get seccomp after", prctl(PR_GET_SECCOMP));
    show("errno above 4095 is 4095", (only(SYS_getuid, SECCOMP_RET_ERRNO | 0xffff), syscall(SYS_getuid)));
    printf("errno %d\n", errno);
    show("strict after filter", syscall(SYS_seccomp, SECCOMP_SET_MODE_STRICT, 0, NULL));
    show("prctl strict after filter", prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0));
}

static volatile long trap_info[6];

static void on_sigsys(int sig, siginfo_t *si, void *ctx) {
    ucontext_t *uc = ctx;
    trap_info[0] = si->si_code;
    trap_info[1] = si->si_errno;
    trap_info[2] = si->si_syscall;
    trap_info[3] = si->si_arch;
    trap_info[4] = (long)((uintptr_t)si->si_call_addr - (uintptr_t)syscall);
    trap_info[5] = uc->uc_mcontext.gregs[REG_RAX];
    (void)sig;
    /* Answer the call: its result is what the handler leaves in rax. */
    uc->uc_mcontext.gregs[REG_RAX] = 4321;
}

static void trap_filter(void) {
    struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
    sigaction(SIGSYS, &sa, NULL);
    show("filter trap 0x42 for uname", only(SYS_uname, SECCOMP_RET_TRAP | 0x42));
    show("uname answered by the handler", syscall(SYS_uname, NULL));
    printf("sigsys code %ld errno %#lx syscall %ld arch %#lx call offset %ld rax %ld\n", trap_info[0], trap_info[1],
           trap_info[2], trap_info[3], trap_info[4], trap_info[5]);
    /* Blocked, the trap's SIGSYS kills. */
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGSYS);
    sigprocmask(SIG_BLOCK, &s, NULL);
    syscall(SYS_uname, NULL);
    printf("not reached\n");
}

static void kill_process(void) {
    show("filter kill process for getpid", only(SYS_getpid, SECCOMP_RET_KILL_PROCESS));
    syscall(SYS_getpid);
    printf("not reached\n");
}

static void *thread_getpid(void *arg) {
    (void)arg;
    syscall(SYS_getpid);
    printf("not reached in the thread\n");
    return NULL;
}

static void kill_thread(void) {
    show("filter kill thread for getpid", only(SYS_getpid, SECCOMP_RET_KILL_THREAD));
    pthread_t t;
    pthread_create(&t, NULL, thread_getpid, NULL);
    show("join of the killed thread", pthread_join(t, NULL));
    printf("main thread goes on\n");
    fflush(stdout);
    syscall(SYS_getpid);
    printf("not reached\n");
}

static void chain_and_data(void) {
    show("filter errno 1 for getppid", only(SYS_getppid, SECCOMP_RET_ERRNO | 1));
    show("filter errno 2 for getppid", only(SYS_getppid, SECCOMP_RET_ERRNO | 2));
    show("getppid: the newest of equals", syscall(SYS_getppid));
    show("filter trace for getppid", only(SYS_getppid, SECCOMP_RET_TRACE));
    show("getppid: errno beats trace", syscall(SYS_getppid));
    show("filter log for getuid", only(SYS_getuid, SECCOMP_RET_LOG));
    show("getuid logged", syscall(SYS_getuid) >= 0);
    show("filter trace for getgid", only(SYS_getgid, SECCOMP_RET_TRACE));
    show("getgid traced without a tracer", syscall(SYS_getgid));
    /* The instruction pointer's low bits and an argument as the errno,
     * the architecture checked, scratch memory and X used. */
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARCH),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getpgid, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0 + 4),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x12345, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0),
        BPF_STMT(BPF_ST, 5),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, IP),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xff),
        BPF_STMT(BPF_MISC | BPF_TAX, 0),
        BPF_STMT(BPF_LD | BPF_MEM, 5),
        BPF_STMT(BPF_ALU | BPF_ADD | BPF_X, 0),
        BPF_STMT(BPF_ALU | BPF_OR | BPF_K, SECCOMP_RET_ERRNO),
        BPF_STMT(BPF_RET | BPF_A, 0),
    };
    show("filter on arch, ip and argument", install(0, f, sizeof f / sizeof f[0]));
    long r = syscall(SYS_getpgid, 0x1234500000007L);
    printf("getpgid(0x12345:7) %ld errno %d\n", r, errno);
    show("getpgid(0) allowed", syscall(SYS_getpgid, 0) > 0);
}

static void *thread_getppid(void *arg) {
    (void)arg;
    show("thread getppid", syscall(SYS_getppid));
    return NULL;
}

static volatile int go;

static void *thread_wait_then_getppid(void *arg) {
    while (!go)
        usleep(1000);
    return thread_getppid(arg);
}

static void inheritance(void) {
    pthread_t early;
    pthread_create(&early, NULL, thread_wait_then_getppid, NULL);
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    show("filter with tsync", install(SECCOMP_FILTER_FLAG_TSYNC, f, 4));
    go = 1;
    pthread_join(early, NULL);
    pthread_t late;
    pthread_create(&late, NULL, thread_getppid, NULL);
    pthread_join(late, NULL);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        show("forked child getppid", syscall(SYS_getppid));
        fflush(stdout);
        execl(self, self, "after-exec", (char *)NULL);
        show("exec", -1);
        _exit(1);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("exec'd child exit %d\n", WEXITSTATUS(st));
}

static void *thread_own_filter(void *arg) {
    only(SYS_getuid, SECCOMP_RET_ERRNO | 1);
    *(volatile int *)arg = 1;
    while (!go)
        usleep(1000);
    return NULL;
}

static void tsync_blocked(void) {
    volatile int ready = 0;
    pthread_t t;
    pthread_create(&t, NULL, thread_own_filter, (void *)&ready);
    while (!ready)
        usleep(1000);
    struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    long r = install(SECCOMP_FILTER_FLAG_TSYNC, &allow, 1);
    printf("tsync blocked by a thread with its own filter: %s\n", r > 0 ? "its tid" : "no");
    show("tsync with TSYNC_ESRCH", install(SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_TSYNC_ESRCH, &allow, 1));
    go = 1;
    pthread_join(t, NULL);
}

static void errors(void) {
    struct sock_filter ok[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    struct sock_filter no_ret[] = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR)};
    struct sock_filter unaligned[] = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 2), BPF_STMT(BPF_RET | BPF_K, 0)};
    struct sock_filter past[] = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 64), BPF_STMT(BPF_RET | BPF_K, 0)};
    struct sock_filter mem[] = {BPF_STMT(BPF_LD | BPF_MEM, 3), BPF_STMT(BPF_RET | BPF_K, 0)};
    struct sock_filter div0[] = {BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0), BPF_STMT(BPF_RET | BPF_K, 0)};
    struct sock_filter jump[] = {BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 3, 0), BPF_STMT(BPF_RET | BPF_K, 0)};
    show("empty filter", install(0, ok, 0));
    show("no return", install(0, no_ret, 1));
    show("unaligned load", install(0, unaligned, 2));
    show("load past seccomp_data", install(0, past, 2));
    show("scratch read before store", install(0, mem, 2));
    show("division by zero", install(0, div0, 2));
    show("jump out of the filter", install(0, jump, 2));
    show("unknown flag", install(1u << 20, ok, 1));
    show("filter at a bad address", syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, (void *)8));
    struct sock_fprog bad = {.len = 1, .filter = (void *)8};
    show("instructions at a bad address", syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &bad));
    show("strict with flags", syscall(SYS_seccomp, SECCOMP_SET_MODE_STRICT, 1, NULL));
    show("unknown operation", syscall(SYS_seccomp, 99, 0, NULL));
    show("prctl unknown mode", prctl(PR_SET_SECCOMP, 7, 0, 0, 0));
    unsigned actions[] = {SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_KILL_THREAD, SECCOMP_RET_TRAP, SECCOMP_RET_ERRNO,
                          SECCOMP_RET_TRACE, SECCOMP_RET_LOG, SECCOMP_RET_ALLOW, 0x12340000};
    for (unsigned i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "action %#x available", actions[i]);
        show(what, syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &actions[i]));
    }
    show("action at a bad address", syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, (void *)8));
    /* Without no_new_privs or CAP_SYS_ADMIN: EACCES, before the
     * instructions are read or checked. */
    fflush(stdout);
    if (fork() == 0) {
        if (getuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            printf("cannot drop privileges\n");
        show("unprivileged: bad filter", install(0, no_ret, 1));
        struct sock_fprog far = {.len = 1, .filter = (void *)8};
        show("unprivileged: filter at a bad address", syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &far));
        show("unprivileged: good filter", install(0, ok, 1));
        show("unprivileged: strict mode", syscall(SYS_seccomp, SECCOMP_SET_MODE_STRICT, 1, NULL));
        fflush(stdout);
        _exit(0);
    }
    wait(NULL);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    self = argv[0];
    if (argc > 1 && strcmp(argv[1], "after-exec") == 0) {
        show("exec'd program getppid", syscall(SYS_getppid));
        show("exec'd program seccomp mode", prctl(PR_GET_SECCOMP));
        return 5;
    }
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    errors();
    show("no_new_privs", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
    in_child("strict mode", strict_write_then_getpid);
    in_child("strict mode through prctl", strict_prctl_exit);
    in_child("errno", errno_filter);
    in_child("trap", trap_filter);
    in_child("kill process", kill_process);
    in_child("kill thread", kill_thread);
    in_child("chain", chain_and_data);
    in_child("inheritance", inheritance);
    in_child("tsync", tsync_blocked);
    show("parent unfiltered: getppid", syscall(SYS_getppid) > 0);
    return 0;
}
