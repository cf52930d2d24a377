/* signal_async.c - asynchronous signals delivered to guest handlers, one
 * case per run (argv[1]), compared with the native run: alarm, SIGCHLD,
 * a handler interrupting a blocking read with and without SA_RESTART,
 * sigsuspend, ppoll with a mask, sigtimedwait, signalfd, kill to self of
 * every signal 1..64 (32 and 33 included), real-time order, a spinning loop
 * receiving SIGALRM from setitimer, nanosleep interrupted (rem), stop and
 * continue seen by the parent, POSIX timers (SIGEV_SIGNAL and
 * SIGEV_THREAD_ID), and a
 * stress of a signal landing around a blocking read (argv[2] iterations). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got, last_sig, last_code, last_status, last_value;
static int pipefd[2];
static volatile int write_in_handler;
static int order[16], norder;

static void handler(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    got++;
    last_sig = sig;
    last_code = si->si_code;
    last_status = si->si_status;
    last_value = si->si_value.sival_int;
    if (norder < 16 && sig >= SIGRTMIN) order[norder++] = si->si_value.sival_int;
    if (write_in_handler) {
        int e = errno;
        if (write(pipefd[1], "x", 1) != 1) _exit(90);
        errno = e;
    }
}

/* The kernel's struct sigaction, for signals 32 and 33 (glibc refuses them). */
struct ksa {
    void *h;
    unsigned long flags;
    void *restorer;
    unsigned long mask;
};
extern void restore_rt(void);
__asm__(".text\nrestore_rt:\n mov $15, %eax\n syscall\n");

static void on(int sig, int flags) {
    struct ksa k = {(void *)handler, (unsigned long)flags | SA_SIGINFO | 0x04000000, (void *)restore_rt, 0};
    if (syscall(SYS_rt_sigaction, sig, &k, 0, 8) != 0) printf("rt_sigaction %d: %s\n", sig, strerror(errno));
}

static void block(int how, int sig) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    sigprocmask(how, &s, 0);
}

static void show(const char *what, long r) {
    printf("%s = %ld%s%s, got %d sig %d code %d\n", what, r, r < 0 ? " " : "", r < 0 ? strerrorname_np(errno) : "",
           (int)got, (int)last_sig, (int)last_code);
}

static void arm_usec(long usec) {
    struct itimerval it = {{0, 0}, {usec / 1000000, usec % 1000000}};
    setitimer(ITIMER_REAL, &it, 0);
}

static void case_alarm(void) {
    on(SIGALRM, 0);
    alarm(1);
    show("pause", pause());
}

static void case_sigchld(void) {
    on(SIGCHLD, 0);
    pid_t c = fork();
    if (c == 0) _exit(3);
    while (!got) usleep(1000);
    int st;
    pid_t w = waitpid(c, &st, 0);
    printf("waitpid %s, exited %d status %d; sig %d code %d si_status %d\n", w == c ? "ok" : "bad", WIFEXITED(st),
           WEXITSTATUS(st), (int)last_sig, (int)last_code, (int)last_status);
}

static void case_read(int flags) {
    on(SIGALRM, flags);
    if (pipe(pipefd)) return;
    write_in_handler = 1;
    arm_usec(200000);
    char c = 0;
    long r = read(pipefd[0], &c, 1);
    show("read", r);
    if (r == 1) printf("byte %c\n", c);
}

static void case_sigsuspend(void) {
    on(SIGUSR1, 0);
    block(SIG_BLOCK, SIGUSR1);
    if (fork() == 0) {
        usleep(100000);
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    sigset_t empty;
    sigemptyset(&empty);
    long r = sigsuspend(&empty);
    show("sigsuspend", r);
    sigset_t now;
    sigprocmask(SIG_BLOCK, 0, &now);
    printf("SIGUSR1 blocked after: %d\n", sigismember(&now, SIGUSR1));
    wait(0);
    /* Pending before the call and unblocked by it: returns at once. */
    kill(getpid(), SIGUSR1);
    show("sigsuspend pending", sigsuspend(&empty));
}

static void case_ppoll(void) {
    on(SIGALRM, SA_RESTART);
    block(SIG_BLOCK, SIGALRM);
    if (pipe(pipefd)) return;
    arm_usec(100000);
    struct pollfd p = {pipefd[0], POLLIN, 0};
    sigset_t empty;
    sigemptyset(&empty);
    show("ppoll", ppoll(&p, 1, 0, &empty));
    sigset_t now;
    sigprocmask(SIG_BLOCK, 0, &now);
    printf("SIGALRM blocked after: %d\n", sigismember(&now, SIGALRM));
    struct timespec ts = {0, 50000000};
    show("ppoll timeout", ppoll(&p, 1, &ts, &empty));
}

static void case_sigtimedwait(void) {
    block(SIG_BLOCK, SIGUSR1);
    block(SIG_BLOCK, SIGRTMIN + 2);
    kill(getpid(), SIGUSR1);
    union sigval v = {.sival_int = 42};
    sigqueue(getpid(), SIGRTMIN + 2, v);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGRTMIN + 2);
    sigset_t pend;
    sigpending(&pend);
    printf("pending USR1 %d RT2 %d\n", sigismember(&pend, SIGUSR1), sigismember(&pend, SIGRTMIN + 2));
    siginfo_t si;
    struct timespec ts = {0, 10000000};
    for (int i = 0; i < 3; i++) {
        int r = sigtimedwait(&s, &si, &ts);
        if (r < 0)
            printf("sigtimedwait -1 %s\n", strerrorname_np(errno));
        else
            printf("sigtimedwait %d code %d value %d\n", r, si.si_code, si.si_code == SI_QUEUE ? si.si_value.sival_int : 0);
    }
}

static void case_signalfd(void) {
    block(SIG_BLOCK, SIGUSR2);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    int fd = signalfd(-1, &s, 0);
    kill(getpid(), SIGUSR2);
    struct pollfd p = {fd, POLLIN, 0};
    printf("poll %d revents %d\n", poll(&p, 1, 1000), p.revents);
    struct signalfd_siginfo ssi;
    long r = read(fd, &ssi, sizeof ssi);
    printf("read %ld signo %u code %d\n", r, ssi.ssi_signo, ssi.ssi_code);
}

static void case_kill_all(void) {
    for (int s = 1; s <= 64; s++)
        if (s != SIGKILL && s != SIGSTOP) on(s, 0);
    for (int s = 1; s <= 64; s++) {
        if (s == SIGKILL || s == SIGSTOP) continue;
        int before = got;
        kill(getpid(), s);
        if (got != before + 1 || last_sig != s || last_code != SI_USER) printf("signal %d: got %d sig %d\n", s, got - before, (int)last_sig);
    }
    printf("handled %d\n", (int)got);
    /* Real-time signals queue in order, standard ones coalesce. */
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, 0);
    got = 0;
    norder = 0;
    for (int i = 0; i < 3; i++) {
        union sigval v = {.sival_int = 10 + i};
        sigqueue(getpid(), SIGRTMIN + 5, v);
        kill(getpid(), SIGUSR1);
    }
    union sigval v = {.sival_int = 1};
    sigqueue(getpid(), SIGRTMIN + 1, v);
    sigprocmask(SIG_UNBLOCK, &all, 0);
    printf("after unblock got %d:", (int)got);
    for (int i = 0; i < norder; i++) printf(" %d", order[i]);
    printf("\n");
}

static void case_spin(void) {
    on(SIGALRM, SA_RESTART);
    struct itimerval it = {{0, 20000}, {0, 20000}};
    setitimer(ITIMER_REAL, &it, 0);
    volatile unsigned long n = 0;
    while (got < 5) n++;
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, 0);
    printf("spun, got %d\n", (int)got);
}

static long ticks;
static void __attribute__((noinline)) tick(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ticks += ts.tv_nsec & 1;
}

/* The same through indirect calls and returns (the signal often lands in
 * an indirect-branch lookup) and the vDSO. */
static void case_spin_calls(void) {
    on(SIGALRM, SA_RESTART);
    struct itimerval it = {{0, 20000}, {0, 20000}};
    setitimer(ITIMER_REAL, &it, 0);
    void (*volatile fp)(void) = tick;
    while (got < 5) fp();
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, 0);
    printf("spun with calls, got %d\n", (int)got);
}

static void case_nanosleep(void) {
    on(SIGALRM, SA_RESTART);
    arm_usec(200000);
    struct timespec req = {3, 0}, rem = {0, 0};
    long r = nanosleep(&req, &rem);
    show("nanosleep", r);
    printf("rem %ld s\n", (long)rem.tv_sec);
}

static void case_stop_cont(void) {
    /* SA_RESTART: when the CLD_CONTINUED SIGCHLD lands (inside or before
     * the last waitpid) is a matter of timing. */
    on(SIGCHLD, SA_RESTART);
    if (pipe(pipefd)) return;
    pid_t c = fork();
    if (c == 0) {
        /* Default actions: stop, then continue, then core-less death once
         * the parent has seen the continue. */
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        raise(SIGTSTP);
        char b;
        if (read(pipefd[0], &b, 1) != 1) _exit(91);
        raise(SIGQUIT);
        _exit(0);
    }
    int st;
    pid_t w = waitpid(c, &st, WUNTRACED);
    printf("stopped %d by %d\n", w == c && WIFSTOPPED(st), WSTOPSIG(st));
    kill(c, SIGCONT);
    w = waitpid(c, &st, WCONTINUED);
    printf("continued %d\n", w == c && WIFCONTINUED(st));
    if (write(pipefd[1], "x", 1) != 1) return;
    w = waitpid(c, &st, 0);
    printf("signaled %d by %d core %d\n", w == c && WIFSIGNALED(st), WTERMSIG(st), WCOREDUMP(st));
    printf("SIGCHLD handled: %d\n", got > 0);
}

static void case_timer(void) {
    on(SIGRTMIN + 3, 0);
    timer_t t;
    struct sigevent ev = {0};
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGRTMIN + 3;
    ev.sigev_value.sival_int = 77;
    if (timer_create(CLOCK_MONOTONIC, &ev, &t)) {
        printf("timer_create: %s\n", strerror(errno));
        return;
    }
    struct itimerspec its = {{0, 0}, {0, 50000000}};
    timer_settime(t, 0, &its, 0);
    show("pause", pause());
    printf("value %d timer code %d\n", (int)last_value, last_code == SI_TIMER);
    /* SIGEV_THREAD_ID to this thread. */
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev._sigev_un._tid = gettid();
    ev.sigev_value.sival_int = 78;
    timer_t t2;
    timer_create(CLOCK_MONOTONIC, &ev, &t2);
    timer_settime(t2, 0, &its, 0);
    show("pause", pause());
    printf("value %d\n", (int)last_value);
}

static void case_stress(int n, int flags) {
    on(SIGALRM, flags);
    if (pipe(pipefd)) return;
    write_in_handler = 1;
    srand(1);
    int eintr = 0;
    for (int i = 0; i < n; i++) {
        arm_usec(1 + rand() % 300);
        char c;
        long r;
        while ((r = read(pipefd[0], &c, 1)) < 0 && errno == EINTR) eintr++;
        if (r != 1) {
            printf("iteration %d: read %ld\n", i, r);
            return;
        }
        if (got != i + 1) {
            printf("iteration %d: got %d\n", i, (int)got);
            return;
        }
        if (flags & SA_RESTART && eintr) {
            printf("iteration %d: EINTR with SA_RESTART\n", i);
            return;
        }
    }
    printf("stress ok, %d\n", n);
}

int main(int argc, char **argv) {
    setvbuf(stdout, 0, _IONBF, 0);
    const char *c = argc > 1 ? argv[1] : "";
    int n = argc > 2 ? atoi(argv[2]) : 1000;
    if (!strcmp(c, "alarm")) case_alarm();
    else if (!strcmp(c, "sigchld")) case_sigchld();
    else if (!strcmp(c, "read_eintr")) case_read(0);
    else if (!strcmp(c, "read_restart")) case_read(SA_RESTART);
    else if (!strcmp(c, "sigsuspend")) case_sigsuspend();
    else if (!strcmp(c, "ppoll")) case_ppoll();
    else if (!strcmp(c, "sigtimedwait")) case_sigtimedwait();
    else if (!strcmp(c, "signalfd")) case_signalfd();
    else if (!strcmp(c, "kill_all")) case_kill_all();
    else if (!strcmp(c, "spin")) case_spin();
    else if (!strcmp(c, "spin_calls")) case_spin_calls();
    else if (!strcmp(c, "nanosleep")) case_nanosleep();
    else if (!strcmp(c, "stop_cont")) case_stop_cont();
    else if (!strcmp(c, "timer")) case_timer();
    else if (!strcmp(c, "stress")) case_stress(n, 0);
    else if (!strcmp(c, "stress_restart")) case_stress(n, SA_RESTART);
    else {
        printf("unknown case\n");
        return 2;
    }
    return 0;
}
