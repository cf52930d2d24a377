/* A thread that turns its time-stamp counter off (PR_SET_TSC,
 * PR_TSC_SIGSEGV), as stress-ng's sigsegv stressor does: `rdtsc` and
 * `rdtscp` then raise SIGSEGV, and so does the vDSO's clock_gettime
 * (which reads the counter), while the clock_gettime syscall still
 * works. Meanwhile the thread runs hot loops (under `--traces` tern reads
 * its clock when a loop gets hot), sleeps, is interrupted by a signal in a
 * timed wait, and starts a thread (which inherits the setting). tern must
 * not read its own clock through the vDSO on such a thread: it died of
 * "internal fault" in the vDSO. Then the counter is turned on again. */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static sigjmp_buf back;
static volatile int segv;

static void on_segv(int sig) {
    (void)sig;
    segv++;
    siglongjmp(back, 1);
}

static void on_alarm(int sig) { (void)sig; }

/* Runs f and says whether it raised SIGSEGV. */
static const char *faults(void (*f)(void)) {
    int before = segv;
    if (sigsetjmp(back, 1) == 0)
        f();
    return segv != before ? "SIGSEGV" : "ran";
}

static void do_rdtsc(void) {
    unsigned lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
}

static void do_rdtscp(void) {
    unsigned lo, hi, aux;
    __asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
}

static void do_vdso_clock(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
}

static volatile unsigned long sink;

static void hot_loops(void) {
    for (int k = 0; k < 20; k++)
        for (unsigned long i = 0; i < 100000; i++)
            sink += i ^ k;
}

static void *child(void *arg) {
    (void)arg;
    int mode = -1;
    prctl(PR_GET_TSC, &mode);
    hot_loops();
    return (void *)(long)mode;
}

static void report(const char *when) {
    int mode = -1;
    prctl(PR_GET_TSC, &mode);
    printf("%s: PR_GET_TSC %s, rdtsc %s, rdtscp %s\n", when, mode == PR_TSC_SIGSEGV ? "SIGSEGV" : "ENABLE",
           faults(do_rdtsc), faults(do_rdtscp));
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGSEGV, on_segv);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    report("at start");
    if (prctl(PR_SET_TSC, PR_TSC_SIGSEGV, 0, 0, 0) != 0) {
        printf("PR_SET_TSC refused\n");
        return 0;
    }
    report("counter off");
    printf("vDSO clock_gettime: %s\n", faults(do_vdso_clock));
    struct timespec ts;
    printf("clock_gettime syscall: %ld\n", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts));
    hot_loops();
    struct timespec nap = {0, 2000000};
    printf("nanosleep: %d\n", nanosleep(&nap, NULL));
    /* A timed wait that a signal interrupts (EINTR: no SA_RESTART). */
    struct itimerval it = {{0, 0}, {0, 20000}};
    setitimer(ITIMER_REAL, &it, NULL);
    struct timespec wait = {2, 0};
    siginfo_t si;
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    int r = sigtimedwait(&usr1, &si, &wait);
    printf("sigtimedwait interrupted: %s\n", r < 0 ? "yes" : "no");
    pthread_t t;
    void *mode;
    pthread_create(&t, NULL, child, NULL);
    pthread_join(t, &mode);
    printf("new thread: PR_GET_TSC %s\n", (long)mode == PR_TSC_SIGSEGV ? "SIGSEGV" : "ENABLE");
    prctl(PR_SET_TSC, PR_TSC_ENABLE, 0, 0, 0);
    report("counter on");
    printf("vDSO clock_gettime: %s\n", faults(do_vdso_clock));
    return 0;
}
