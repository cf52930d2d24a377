/* A process made by the legacy clone with an exit signal other than
 * SIGCHLD, or none (glibc's tst-getpid1 and tst-align-clone use none): it
 * is a "clone" child, which only wait with __WCLONE or __WALL reaps, and
 * its parent gets that signal, or nothing, when it ends. tern made such a
 * child with glibc's fork() (SIGCHLD, a plain child) when the exit signal
 * was 0 or one whose bits lie within SIGCHLD's (SIGHUP). Compared with
 * the native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char stack[64 * 1024] __attribute__((aligned(16)));

static int child(void *arg) {
    (void)arg;
    return 7;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int sigs[] = {0, SIGHUP, SIGUSR1, SIGCHLD};
    sigset_t all;
    sigemptyset(&all);
    for (unsigned i = 1; i < sizeof sigs / sizeof *sigs; i++)
        sigaddset(&all, sigs[i]);
    sigprocmask(SIG_BLOCK, &all, NULL);
    for (unsigned i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        int sig = sigs[i];
        pid_t pid = clone(child, stack + sizeof stack, sig, NULL);
        if (pid < 0) {
            printf("exit signal %d: clone %s\n", sig, strerror(errno));
            continue;
        }
        /* The exit signal, if any, once the child has ended. */
        siginfo_t si;
        struct timespec wait = {sig ? 5 : 0, sig ? 0 : 100000000L};
        int got = sigtimedwait(&all, &si, &wait);
        printf("exit signal %d: got %d", sig, got > 0 ? got : 0);
        if (got > 0)
            printf(" (code %d status %d, from the child %d)", si.si_code, si.si_status, si.si_pid == pid);
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        printf("; wait without __WCLONE: %s", r == pid ? "reaped" : r == 0 ? "0" : strerror(errno));
        if (r != pid) {
            r = waitpid(pid, &st, __WCLONE);
            printf("; with __WCLONE: %s", r == pid ? "reaped" : strerror(errno));
        }
        if (r == pid)
            printf(", exit %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        printf("\n");
    }
    return 0;
}
