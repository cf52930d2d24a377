/* A vfork-style clone (CLONE_VM | CLONE_VFORK, as glibc's posix_spawn and
 * pidfd_spawn make) with CLONE_PIDFD or CLONE_PARENT_SETTID: the parent
 * gets the pidfd (waitid P_PIDFD reaps the child) or the pid in its word,
 * and sees what the child wrote beside it. tern runs such a child as a
 * fork whose written pages come back to the parent, and the child's copy
 * of the page holding the word, from before the kernel stored the pidfd
 * there, came back over it (glibc's tst-spawn-pidfd: waitid EINVAL).
 * Compared with the native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static char stack[64 * 1024] __attribute__((aligned(16)));

struct shared {
    int word;
    int child_wrote;
};

static int child(void *arg) {
    ((struct shared *)arg)->child_wrote = 1;
    _exit(5);
}

static int child_exec(void *arg) {
    ((struct shared *)arg)->child_wrote = 1;
    execl("/bin/true", "true", (char *)NULL);
    _exit(9);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    for (int k = 0; k < 4; k++) {
        struct shared s = {-1, 0};
        int pidfd_flag = k < 2;
        int flags = CLONE_VM | CLONE_VFORK | SIGCHLD | (pidfd_flag ? CLONE_PIDFD : CLONE_PARENT_SETTID);
        pid_t pid = clone(k % 2 ? child_exec : child, stack + sizeof stack, flags, &s, &s.word);
        printf("%s, %s: clone %s, child wrote %d, ", pidfd_flag ? "CLONE_PIDFD" : "CLONE_PARENT_SETTID",
               k % 2 ? "exec" : "exit", pid > 0 ? "ok" : strerror(errno), s.child_wrote);
        siginfo_t si;
        memset(&si, 0, sizeof si);
        int r;
        if (pidfd_flag) {
            printf("pidfd valid %d: ", s.word >= 0);
            r = waitid(P_PIDFD, s.word, &si, WEXITED);
            close(s.word);
        } else {
            printf("word is the pid %d: ", s.word == pid);
            r = waitid(P_PID, pid, &si, WEXITED);
        }
        printf("waitid %s, code %d status %d, the child %d\n", r ? strerror(errno) : "ok", si.si_code, si.si_status,
               si.si_pid == pid);
    }
    return 0;
}
