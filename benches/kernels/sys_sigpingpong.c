/* Thread-to-thread signal ping-pong: two threads send each other SIGUSR1
 * with tgkill SIZE times each way; each waits in sigsuspend (SIGUSR1 is
 * blocked otherwise, so none is lost) and its handler counts. Prints the
 * counts. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "common.h"

static long n;
static pid_t tids[2];
static pthread_barrier_t ready;
static __thread long handled;
static long counts[2];

static void on_usr1(int sig) {
    (void)sig;
    handled++;
}

static void *player(void *arg) {
    int me = (int)(intptr_t)arg;
    tids[me] = (pid_t)syscall(SYS_gettid);
    pthread_barrier_wait(&ready);
    pid_t pid = getpid(), other = tids[1 - me];
    sigset_t wait;
    sigprocmask(SIG_BLOCK, NULL, &wait);
    sigdelset(&wait, SIGUSR1);
    for (long i = 0; i < n; i++) {
        if (me == 0) {
            syscall(SYS_tgkill, pid, other, SIGUSR1);
            sigsuspend(&wait);
        } else {
            sigsuspend(&wait);
            syscall(SYS_tgkill, pid, other, SIGUSR1);
        }
    }
    counts[me] = handled;
    return NULL;
}

int main(int argc, char **argv) {
    n = arg_size(argc, argv, 100000);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    pthread_barrier_init(&ready, NULL, 2);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, player, (void *)(intptr_t)i);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("sigpingpong n=%ld handled=%ld,%ld\n", n, counts[0], counts[1]);
    return counts[0] != n || counts[1] != n;
}
