/* AddressSanitizer's leak check at exit: LeakSanitizer stops every thread
 * with ptrace from a CLONE_VM tracer, scans stacks, registers and TLS, and
 * reports what no pointer reaches. With an argument one block leaks (exit
 * status 1); without, the check finds nothing and the status is 0. A second thread, blocked in a condition
 * wait, holds the only pointer to one block in a register-free way (its
 * stack), so the check must read that thread's stack too. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int done, ready;
static void *volatile keep;

static void *holder(void *arg) {
    (void)arg;
    char *volatile kept = malloc(64); /* reachable from this stack only */
    strcpy(kept, "held");
    pthread_mutex_lock(&mu);
    ready = 1;
    pthread_cond_broadcast(&cv);
    while (!done)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return kept;
}

int main(int argc, char **argv) {
    pthread_t t;
    pthread_create(&t, 0, holder, 0);
    pthread_mutex_lock(&mu);
    while (!ready)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    void *p = malloc(100);
    if (argc > 1)
        p = 0; /* the leak */
    keep = p;
    printf("pointer kept: %s\n", p ? "yes" : "no");
    fflush(stdout);
    /* The leak check runs at exit, with the holder still blocked. */
    return 0;
}
