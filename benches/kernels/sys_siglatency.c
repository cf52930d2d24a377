/* Signal latency: SIZE times, tgkill SIGUSR1 to a thread blocked in read()
 * on an empty pipe (SA_RESTART: the read goes on) and wait until its
 * handler has run. Prints the median and 99th-percentile time from the
 * tgkill to the handler's entry, in microseconds (not compared between
 * runs: the harness checks the exit status). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

static atomic_long sent_ns, lat_ns;
static atomic_int done;
static pid_t target;
static int fds[2];

static long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void on_usr1(int sig) {
    (void)sig;
    atomic_store(&lat_ns, now_ns() - atomic_load(&sent_ns));
    atomic_store(&done, 1);
}

static void *reader(void *arg) {
    (void)arg;
    target = (pid_t)syscall(SYS_gettid);
    char c;
    /* Blocks until main closes the pipe. */
    while (read(fds[0], &c, 1) > 0) {
    }
    return NULL;
}

static int cmp(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    long n = arg_size(argc, argv, 10000);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    if (pipe(fds))
        return 2;
    pthread_t t;
    pthread_create(&t, NULL, reader, NULL);
    while (!target)
        usleep(100);
    usleep(1000);
    long *lat = malloc(n * sizeof *lat);
    for (long i = 0; i < n; i++) {
        atomic_store(&done, 0);
        atomic_store(&sent_ns, now_ns());
        syscall(SYS_tgkill, getpid(), target, SIGUSR1);
        while (!atomic_load(&done))
            ;
        lat[i] = atomic_load(&lat_ns);
    }
    close(fds[1]);
    pthread_join(t, NULL);
    qsort(lat, n, sizeof *lat, cmp);
    printf("siglatency n=%ld median %.1f us p99 %.1f us\n", n, lat[n / 2] / 1e3, lat[n * 99 / 100] / 1e3);
    return 0;
}
