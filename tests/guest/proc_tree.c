/* Process trees: waitid (P_PID, P_PGID, P_ALL, P_PIDFD; WNOHANG, WNOWAIT,
 * WSTOPPED, WCONTINUED), wait4, process groups and sessions, signals to a
 * group, pipes and SIGPIPE, a fork storm. Pids vary from run to run, so
 * only their relations are printed. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static const char *code_name(int code) {
    switch (code) {
    case CLD_EXITED: return "CLD_EXITED";
    case CLD_KILLED: return "CLD_KILLED";
    case CLD_DUMPED: return "CLD_DUMPED";
    case CLD_STOPPED: return "CLD_STOPPED";
    case CLD_CONTINUED: return "CLD_CONTINUED";
    case CLD_TRAPPED: return "CLD_TRAPPED";
    }
    return "?";
}

static void show(const char *what, int r, siginfo_t *si, pid_t expect) {
    if (r < 0) {
        printf("%s: %s\n", what, strerror(errno));
        return;
    }
    printf("%s: r=%d signo=%d pid_ok=%d code=%s status=%d\n", what, r, si->si_signo,
           si->si_pid == expect, si->si_pid ? code_name(si->si_code) : "-", si->si_status);
}

static pid_t child_exit(int code) {
    pid_t pid = fork();
    if (pid == 0)
        _exit(code);
    return pid;
}

static void waitid_cases(void) {
    siginfo_t si;
    pid_t a = child_exit(7);
    memset(&si, 0, sizeof si);
    show("P_PID WNOWAIT", waitid(P_PID, a, &si, WEXITED | WNOWAIT), &si, a);
    memset(&si, 0, sizeof si);
    show("P_PID again", waitid(P_PID, a, &si, WEXITED), &si, a);
    memset(&si, 0, sizeof si);
    show("P_PID reaped", waitid(P_PID, a, &si, WEXITED), &si, a);

    /* A child in its own group, waited for by group. */
    int p[2];
    pipe(p);
    pid_t b = fork();
    if (b == 0) {
        setpgid(0, 0);
        char c;
        read(p[0], &c, 1);
        _exit(11);
    }
    setpgid(b, b);
    memset(&si, 0, sizeof si);
    show("P_PGID WNOHANG (running)", waitid(P_PGID, b, &si, WEXITED | WNOHANG), &si, 0);
    write(p[1], "x", 1);
    memset(&si, 0, sizeof si);
    show("P_PGID", waitid(P_PGID, b, &si, WEXITED), &si, b);
    close(p[0]);
    close(p[1]);

    /* Stopped, continued, killed. */
    pid_t c = fork();
    if (c == 0) {
        raise(SIGSTOP);
        for (;;)
            pause();
    }
    memset(&si, 0, sizeof si);
    show("WSTOPPED", waitid(P_PID, c, &si, WSTOPPED), &si, c);
    kill(c, SIGCONT);
    memset(&si, 0, sizeof si);
    show("WCONTINUED", waitid(P_PID, c, &si, WCONTINUED), &si, c);
    kill(c, SIGKILL);
    memset(&si, 0, sizeof si);
    show("killed", waitid(P_ALL, 0, &si, WEXITED), &si, c);

    /* wait4 with WUNTRACED and rusage. */
    /* The child exits only once the parent has seen it continue: exiting
     * at once would race wait4(WCONTINUED), which then reports the exit. */
    int go[2];
    pipe(go);
    pid_t d = fork();
    if (d == 0) {
        char c;
        raise(SIGSTOP);
        read(go[0], &c, 1);
        _exit(5);
    }
    int st;
    struct rusage ru;
    pid_t r = wait4(d, &st, WUNTRACED, &ru);
    printf("wait4 WUNTRACED: pid_ok=%d stopped=%d sig=%d\n", r == d, WIFSTOPPED(st), WSTOPSIG(st));
    kill(d, SIGCONT);
    r = wait4(d, &st, WCONTINUED, &ru);
    printf("wait4 WCONTINUED: pid_ok=%d continued=%d\n", r == d, WIFCONTINUED(st));
    write(go[1], "x", 1);
    close(go[0]);
    close(go[1]);
    r = wait4(d, &st, 0, &ru);
    printf("wait4: pid_ok=%d exited=%d code=%d rusage_ok=%d\n", r == d, WIFEXITED(st), WEXITSTATUS(st),
           ru.ru_utime.tv_sec >= 0);

    /* pidfd. */
    pid_t e = child_exit(13);
    int pidfd = syscall(SYS_pidfd_open, e, 0);
    memset(&si, 0, sizeof si);
    show("P_PIDFD", waitid(P_PIDFD, pidfd, &si, WEXITED), &si, e);
    close(pidfd);

    memset(&si, 0, sizeof si);
    show("P_ALL none left", waitid(P_ALL, 0, &si, WEXITED), &si, 0);
    show("bad idtype", waitid(42, 0, &si, WEXITED), &si, 0);
    show("no options", waitid(P_ALL, 0, &si, 0), &si, 0);
}

static void groups_and_sessions(void) {
    printf("leader of own group: %d\n", getpgrp() == getpid());
    int p[2];
    pipe(p);
    pid_t a = fork();
    if (a == 0) {
        close(p[0]);
        pid_t s = setsid();
        int ok = s == getpid() && getsid(0) == getpid() && getpgrp() == getpid();
        int again = setsid() < 0 ? errno : 0;
        char msg[2] = {(char)('0' + ok), (char)(again == EPERM ? 'P' : '?')};
        write(p[1], msg, 2);
        _exit(0);
    }
    close(p[1]);
    char msg[3] = {0};
    read(p[0], msg, 2);
    close(p[0]);
    waitpid(a, NULL, 0);
    printf("setsid in child: ok=%c second=%c\n", msg[0], msg[1]);

    /* Two children in one new group, killed together. */
    pid_t g = fork();
    if (g == 0) {
        setpgid(0, 0);
        for (;;)
            pause();
    }
    setpgid(g, g);
    pid_t h = fork();
    if (h == 0) {
        setpgid(0, g);
        for (;;)
            pause();
    }
    setpgid(h, g);
    printf("getpgid: g=%d h=%d\n", getpgid(g) == g, getpgid(h) == g);
    kill(-g, SIGTERM);
    int st, n = 0;
    pid_t r;
    while ((r = waitpid(-g, &st, 0)) > 0)
        n += WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM;
    printf("group kill: %d children killed by SIGTERM, then %s\n", n, strerror(errno));
    printf("setpgid of a non-child: %s\n", setpgid(1, 1) < 0 ? strerror(errno) : "ok");
}

static void pipes(void) {
    int p[2];
    pipe(p);
    pid_t w = fork();
    if (w == 0) {
        close(p[0]);
        for (int i = 0; i < 1000; i++)
            dprintf(p[1], "line %d\n", i);
        _exit(0);
    }
    close(p[1]);
    char buf[4096];
    long total = 0;
    ssize_t n;
    while ((n = read(p[0], buf, sizeof buf)) > 0)
        total += n;
    close(p[0]);
    int st;
    waitpid(w, &st, 0);
    printf("pipe: %ld bytes, writer exited %d\n", total, WEXITSTATUS(st));

    pipe(p);
    close(p[0]);
    pid_t x = fork();
    if (x == 0) {
        signal(SIGPIPE, SIG_DFL);
        write(p[1], "x", 1);
        _exit(0);
    }
    close(p[1]);
    waitpid(x, &st, 0);
    printf("write to a closed pipe: killed by %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* glibc's fork asks CLONE_CHILD_SETTID for its own thread descriptor: the
 * child's tid must be there (an error-checking mutex records it as owner). */
static void child_tid(void) {
    pid_t pid = fork();
    if (pid == 0) {
        pthread_mutexattr_t a;
        pthread_mutex_t m;
        pthread_mutexattr_init(&a);
        pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
        pthread_mutex_init(&m, &a);
        pthread_mutex_lock(&m);
        int ok = m.__data.__owner == (int)syscall(SYS_gettid);
        int relock = pthread_mutex_lock(&m);
        _exit(ok && relock == EDEADLK ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("fork: the child's tid is its thread's: %d\n", WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void storm(void) {
    int ok = 0;
    for (int round = 0; round < 10; round++) {
        pid_t pids[20];
        for (int i = 0; i < 20; i++) {
            pids[i] = fork();
            if (pids[i] == 0) {
                if (fork() == 0)
                    _exit(1);
                wait(NULL);
                _exit(i);
            }
        }
        for (int i = 0; i < 20; i++) {
            int st;
            ok += waitpid(pids[i], &st, 0) == pids[i] && WEXITSTATUS(st) == i;
        }
    }
    printf("fork storm: %d of 200\n", ok);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    waitid_cases();
    groups_and_sessions();
    pipes();
    child_tid();
    storm();
    return 0;
}
