/* clone3 of a process with what the legacy clone cannot say: a pidfd and
 * the parent's tid word at once, CLONE_CLEAR_SIGHAND (handlers back to
 * SIG_DFL in the child, ignored signals kept, the parent's untouched),
 * set_tid (EPERM without CAP_CHECKPOINT_RESTORE, else the pid asked for
 * if free, EEXIST if taken), an own exit signal, CLONE_NEWTIME, CLONE_INTO_CGROUP with a
 * descriptor that is not a cgroup directory, and the argument checks.
 * Everything printed is compared with the native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

struct args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
        set_tid_size, cgroup;
};

static long clone3(struct args *a) { return syscall(SYS_clone3, a, sizeof *a); }

static const char *err(long r) {
    if (r >= 0)
        return "ok";
    switch (errno) {
    case EPERM: return "EPERM";
    case EEXIST: return "EEXIST";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case ENOTDIR: return "ENOTDIR";
    case ENOSYS: return "ENOSYS";
    case EFAULT: return "EFAULT";
    default: return strerror(errno);
    }
}

static void on_usr1(int sig) { (void)sig; }

/* The child's view of a disposition: 'H' handler, 'D' default, 'I' ignored. */
static char disp(int sig) {
    struct sigaction sa;
    sigaction(sig, NULL, &sa);
    return sa.sa_handler == SIG_DFL ? 'D' : sa.sa_handler == SIG_IGN ? 'I' : 'H';
}

/* Waits for `pid`, printing how it ended. */
static void reap(const char *what, pid_t pid) {
    int st;
    if (waitpid(pid, &st, __WALL) != pid) {
        printf("%s: waitpid %s\n", what, strerror(errno));
        return;
    }
    if (WIFEXITED(st))
        printf("%s: exit %d\n", what, WEXITSTATUS(st));
    else
        printf("%s: signal %d\n", what, WTERMSIG(st));
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGUSR1, on_usr1);
    signal(SIGUSR2, SIG_IGN);

    /* A pidfd and the parent's tid word together. */
    int pidfd = -1;
    pid_t ptid = 0, ctid = 0;
    struct args a = {.flags = CLONE_PIDFD | CLONE_PARENT_SETTID | CLONE_CHILD_SETTID,
                     .pidfd = (uintptr_t)&pidfd,
                     .parent_tid = (uintptr_t)&ptid,
                     .child_tid = (uintptr_t)&ctid,
                     .exit_signal = SIGCHLD};
    long pid = clone3(&a);
    if (pid == 0)
        _exit(ctid == getpid() ? 7 : 8);
    printf("pidfd+parent_tid: %s, parent_tid is the pid %d, pidfd valid %d\n", err(pid), ptid == pid,
           fcntl(pidfd, F_GETFD) >= 0);
    if (pid > 0) {
        struct pollfd p = {.fd = pidfd, .events = POLLIN};
        printf("  pidfd polls readable at exit: %d\n", poll(&p, 1, 5000) == 1);
        reap("  child", pid);
    }
    close(pidfd);

    /* CLONE_CLEAR_SIGHAND: the child's handlers are reset, ignores kept. */
    a = (struct args){.flags = CLONE_CLEAR_SIGHAND, .exit_signal = SIGCHLD};
    pid = clone3(&a);
    if (pid == 0) {
        char d[3] = {disp(SIGUSR1), disp(SIGUSR2), 0};
        /* SIGUSR1 now kills the child, as its default action says. */
        printf("  child dispositions USR1 USR2: %s\n", d);
        kill(getpid(), SIGUSR1);
        _exit(9);
    }
    /* The parent prints after the child has: one order, as natively. */
    if (pid > 0)
        reap("  child", pid);
    printf("CLONE_CLEAR_SIGHAND: %s\n", err(pid));
    printf("  parent dispositions USR1 USR2: %c%c\n", disp(SIGUSR1), disp(SIGUSR2));

    /* CLONE_CLEAR_SIGHAND with CLONE_SIGHAND is invalid. */
    a = (struct args){.flags = CLONE_CLEAR_SIGHAND | CLONE_SIGHAND | CLONE_VM, .exit_signal = SIGCHLD};
    printf("CLONE_CLEAR_SIGHAND|CLONE_SIGHAND: %s\n", err(clone3(&a)));

    /* An exit signal of the caller's choice, with a cleared handler table. */
    a = (struct args){.flags = CLONE_CLEAR_SIGHAND, .exit_signal = SIGUSR2};
    pid = clone3(&a);
    if (pid == 0)
        _exit(3);
    printf("exit_signal SIGUSR2: %s\n", err(pid));
    if (pid > 0)
        reap("  child", pid);

    /* CLONE_NEWTIME, a flag in the legacy clone's exit-signal byte, which
     * clone3 takes beside its own exit signal (tern mixed the two: EINVAL;
     * the kernel selftest clone3). EPERM without CAP_SYS_ADMIN. */
    a = (struct args){.flags = CLONE_NEWTIME, .exit_signal = SIGCHLD};
    pid = clone3(&a);
    if (pid == 0)
        _exit(4);
    printf("CLONE_NEWTIME: %s\n", err(pid));
    if (pid > 0)
        reap("  child", pid);

    /* set_tid: our own pid is taken (EEXIST with the capability, EPERM
     * without). Another pid may be free or not, depending on what else
     * runs: only EPERM against the rest is printed. */
    pid_t want = getpid();
    a = (struct args){.exit_signal = SIGCHLD, .set_tid = (uintptr_t)&want, .set_tid_size = 1};
    printf("set_tid of a taken pid: %s\n", err(clone3(&a)));
    FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
    int pid_max = 32768;
    if (f) {
        if (fscanf(f, "%d", &pid_max) != 1)
            pid_max = 32768;
        fclose(f);
    }
    want = pid_max - 17;
    pid = clone3(&a);
    if (pid == 0)
        _exit(getpid() == want ? 0 : 1);
    printf("set_tid of another pid: %s\n", pid < 0 && errno == EPERM ? "EPERM" : "allowed");
    if (pid > 0)
        waitpid(pid, NULL, 0);
    a = (struct args){.exit_signal = SIGCHLD, .set_tid = 8, .set_tid_size = 1};
    printf("set_tid at a bad address: %s\n", err(clone3(&a)));

    /* CLONE_INTO_CGROUP with a descriptor that is no cgroup. */
    int fd = open("/", O_RDONLY | O_DIRECTORY);
    a = (struct args){.flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)fd};
    pid = clone3(&a);
    if (pid == 0)
        _exit(0);
    printf("CLONE_INTO_CGROUP of /: %s\n", err(pid));
    if (pid > 0)
        reap("  child", pid);
    a.cgroup = 1000;
    printf("CLONE_INTO_CGROUP of a closed fd: %s\n", err(clone3(&a)));
    return 0;
}
