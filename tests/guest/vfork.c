/* vfork and posix_spawn: the child runs on the parent's memory, the parent
 * waits until it execs or exits, a failed exec is reported as natively,
 * and what the child changes of its own signal state stays its own. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static volatile int shared_word;
static volatile int child_errno;

static void report(const char *what, pid_t pid) {
    int st;
    if (waitpid(pid, &st, 0) != pid) {
        printf("%s: waitpid: %s\n", what, strerror(errno));
        return;
    }
    if (WIFEXITED(st))
        printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s: killed by %d\n", what, WTERMSIG(st));
}

/* The child's stores land in the parent's memory; the parent resumes after. */
static void vfork_exit_writes(void) {
    shared_word = 1;
    pid_t pid = vfork();
    if (pid == 0) {
        shared_word = 42;
        _exit(3);
    }
    printf("vfork+_exit: parent sees %d\n", shared_word);
    report("vfork+_exit", pid);
}

static void vfork_exec(const char *path) {
    fflush(stdout);
    child_errno = 0;
    pid_t pid = vfork();
    if (pid == 0) {
        char *argv[] = {(char *)path, "from vfork child", NULL};
        execve(path, argv, environ);
        child_errno = errno;
        _exit(127);
    }
    /* Printed after the wait: an exec'd child's output comes first. */
    int e = child_errno;
    report("vfork+execve", pid);
    printf("vfork+execve %s: child errno %s\n", path, e ? strerror(e) : "none");
}

/* The child blocks a signal and ignores another: the parent's are unchanged. */
static void vfork_signal_state(void) {
    sigset_t set, old;
    sigemptyset(&set);
    sigprocmask(SIG_SETMASK, &set, NULL);
    signal(SIGUSR2, SIG_DFL);
    pid_t pid = vfork();
    if (pid == 0) {
        sigaddset(&set, SIGUSR1);
        sigprocmask(SIG_BLOCK, &set, NULL);
        signal(SIGUSR2, SIG_IGN);
        _exit(0);
    }
    sigprocmask(SIG_SETMASK, NULL, &old);
    struct sigaction sa;
    sigaction(SIGUSR2, NULL, &sa);
    printf("after vfork child: SIGUSR1 blocked %d, SIGUSR2 ignored %d\n", sigismember(&old, SIGUSR1),
           sa.sa_handler == SIG_IGN);
    report("vfork signal state", pid);
}

static void spawn(const char *path, int reset) {
    fflush(stdout);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    if (reset) {
        /* What shells and make do: default dispositions, empty mask. */
        sigset_t all, none;
        sigfillset(&all);
        sigemptyset(&none);
        posix_spawnattr_setsigdefault(&attr, &all);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    }
    char *argv[] = {(char *)path, "spawned", NULL};
    pid_t pid = 0;
    int r = posix_spawn(&pid, path, NULL, &attr, argv, environ);
    if (r == 0)
        report("posix_spawn", pid);
    printf("posix_spawn %s: %s\n", path, r ? strerror(r) : "ok");
    posix_spawnattr_destroy(&attr);
}

/* posix_spawnp searches PATH; a missing name is ENOENT too. */
static void spawnp(const char *file) {
    fflush(stdout);
    char *argv[] = {(char *)file, "spawnp", NULL};
    pid_t pid = 0;
    int r = posix_spawnp(&pid, file, NULL, NULL, argv, environ);
    if (r == 0)
        report("posix_spawnp", pid);
    printf("posix_spawnp %s: %s\n", file, r ? strerror(r) : "ok");
}

/* CLONE_VFORK without CLONE_VM: a copy of memory, but the parent still
 * waits for the child's exit. */
static void vfork_without_vm(void) {
    fflush(stdout);
    long pid = syscall(SYS_clone, CLONE_VFORK | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) {
        usleep(100000);
        shared_word = 77;
        printf("child of CLONE_VFORK without CLONE_VM runs first\n");
        fflush(stdout);
        _exit(0);
    }
    printf("then its parent, which sees %d\n", shared_word);
    report("CLONE_VFORK without CLONE_VM", (pid_t)pid);
}

/* The child's stores into the parent's stack frame, and what it
 * allocates (the break moved, a new mapping), are the parent's. */
static char *volatile child_heap;
static char *volatile child_map;
static void vfork_memory_changes(void) {
    volatile int local = 1;
    pid_t pid = vfork();
    if (pid == 0) {
        local = 5;
        /* Enough small blocks to move the break. */
        char *last = NULL;
        for (int i = 0; i < 300; i++)
            last = malloc(4000);
        if (last)
            strcpy(last, "allocated by the child");
        child_heap = last;
        char *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m != MAP_FAILED) {
            strcpy(m + 4096, "mapped by the child");
            child_map = m;
        }
        _exit(0);
    }
    printf("vfork child's store to the parent's local: %d\n", local);
    printf("child's heap: %s\n", child_heap ? child_heap : "(none)");
    printf("child's mapping: %s\n", child_map ? child_map + 4096 : "(none)");
    /* The parent's heap goes on past what the child allocated. */
    size_t sum = 0;
    for (int i = 0; i < 300; i++) {
        char *q = malloc(4000);
        memset(q, 1, 4000);
        sum += q[3999];
    }
    printf("parent allocates after: %zu\n", sum);
    report("vfork memory", pid);
}

/* A child that closes every descriptor it has (as CPython's subprocess
 * does before its exec) before it stores. */
static void vfork_closing_all(void) {
    shared_word = 0;
    pid_t pid = vfork();
    if (pid == 0) {
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        syscall(SYS_close_range, 3, ~0U, 0);
        int fds[2];
        if (pipe(fds) == 0)
            dup2(fds[0], 1000);
        shared_word = 43;
        _exit(0);
    }
    printf("vfork child closing every descriptor: parent sees %d\n", shared_word);
    report("vfork closing all", pid);
}

/* What the child does to the parent's mappings is the parent's too: an
 * unmapped one is gone, a protected one faults, an advised-away one reads
 * zero. */
static sigjmp_buf fault_jmp;
static void on_fault(int sig) {
    (void)sig;
    siglongjmp(fault_jmp, 1);
}
static void vfork_map_changes(void) {
    char *a = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *b = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *c = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    a[0] = b[0] = c[0] = 7;
    pid_t pid = vfork();
    if (pid == 0) {
        munmap(a, 4096);
        b[1] = 8;
        mprotect(b, 4096, PROT_READ);
        madvise(c, 4096, MADV_DONTNEED);
        _exit(0);
    }
    printf("after the child's munmap: msync %s\n", msync(a, 4096, MS_ASYNC) == 0 ? "ok" : strerror(errno));
    printf("after the child's mprotect: b[1] %d\n", b[1]);
    signal(SIGSEGV, on_fault);
    if (sigsetjmp(fault_jmp, 1) == 0) {
        b[2] = 1;
        printf("write to the protected page: no fault\n");
    } else {
        printf("write to the protected page: fault\n");
    }
    signal(SIGSEGV, SIG_DFL);
    printf("after the child's madvise: c[0] %d\n", c[0]);
    report("vfork map changes", pid);
}

/* A child killed by a signal: its stores before are seen all the same. */
static void vfork_abort(void) {
    shared_word = 0;
    pid_t pid = vfork();
    if (pid == 0) {
        shared_word = 9;
        abort();
    }
    printf("vfork+abort: parent sees %d\n", shared_word);
    report("vfork+abort", pid);
}

/* The parent goes on once the child execs, not when the exec'd program
 * ends: with and without CLONE_VM. */
static void resumed_at_exec(int vm) {
    fflush(stdout);
    char *argv[] = {"/bin/sh", "-c", "sleep 0.5; echo the exec-ed child ends", NULL};
    long pid = vm ? vfork() : syscall(SYS_clone, CLONE_VFORK | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) {
        execve(argv[0], argv, environ);
        _exit(127);
    }
    printf("%s: parent resumed at the child's exec\n", vm ? "vfork" : "CLONE_VFORK without CLONE_VM");
    report("exec'd child", (pid_t)pid);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    vfork_memory_changes();
    vfork_abort();
    vfork_closing_all();
    vfork_map_changes();
    resumed_at_exec(1);
    resumed_at_exec(0);
    vfork_exit_writes();
    vfork_without_vm();
    vfork_exec("/bin/echo");
    vfork_exec("/nonexistent/program");
    vfork_exec("/etc/passwd");
    vfork_signal_state();
    signal(SIGPIPE, SIG_IGN);
    spawn("/bin/echo", 0);
    spawn("/bin/echo", 1);
    spawn("/nonexistent/program", 0);
    spawn("/etc", 1);
    spawnp("echo");
    spawnp("no-such-program-anywhere");
    struct sigaction sa;
    sigaction(SIGPIPE, NULL, &sa);
    printf("parent still ignores SIGPIPE: %d\n", sa.sa_handler == SIG_IGN);
    /* Many in a row: nothing leaks, nothing deadlocks. */
    int ok = 0;
    for (int i = 0; i < 200; i++) {
        pid_t pid = vfork();
        if (pid == 0) {
            shared_word = i;
            _exit(i & 0x7f);
        }
        int st;
        waitpid(pid, &st, 0);
        ok += shared_word == i && WEXITSTATUS(st) == (i & 0x7f);
    }
    printf("200 vforks: %d ok\n", ok);
    return 0;
}
