/* set*id calls in a program with threads: glibc makes every thread change
 * its credentials by sending it signal 33 (SIGSETXID) and running its
 * handler there. Under tern the host C library had installed its own
 * handler for 33 at tern's first pthread_create, and the guest's broadcast
 * ran it (a crash). Also a cancellation (signal 32) after it. Compared
 * with the native run. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *idle(void *arg) {
    for (;;)
        pause();
    return arg;
}

int main(void) {
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, idle, NULL);
    int bad = 0;
    for (int i = 0; i < 20; i++) {
        bad += setgid(getgid()) != 0;
        bad += setuid(getuid()) != 0;
        bad += setresgid(-1, getegid(), -1) != 0;
    }
    printf("set*id with 4 threads: %d failures\n", bad);
    for (int i = 0; i < 4; i++) {
        pthread_cancel(t[i]);
        void *r;
        pthread_join(t[i], &r);
        printf("thread %d: %s\n", i, r == PTHREAD_CANCELED ? "cancelled" : "returned");
    }
    return 0;
}
