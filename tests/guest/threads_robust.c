/* Robust mutexes: a thread that exits holding one (normally, and while
 * another thread waits for it) leaves it EOWNERDEAD to the next locker,
 * which makes it consistent again. pthread_mutex_trylock right after
 * pthread_join sees the owner's death (the kernel releases robust futexes
 * before it wakes joiners). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t m;
static pthread_mutex_t m2;
static volatile int locked;

static void *hold_and_exit(void *arg) {
    pthread_mutex_t *mx = arg;
    pthread_mutex_lock(mx);
    return NULL; /* ends holding it */
}

static void *hold_until_waiter(void *arg) {
    (void)arg;
    pthread_mutex_lock(&m2);
    __atomic_store_n(&locked, 1, __ATOMIC_SEQ_CST);
    usleep(50000); /* the main thread is (most likely) waiting now */
    pthread_exit(NULL);
}

static const char *name(int e) { return e == 0 ? "0" : e == EOWNERDEAD ? "EOWNERDEAD" : strerror(e); }

int main(void) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&m, &a);
    pthread_mutex_init(&m2, &a);
    for (int round = 0; round < 3; round++) {
        pthread_t t;
        pthread_create(&t, NULL, hold_and_exit, &m);
        pthread_join(t, NULL);
        int r = pthread_mutex_trylock(&m);
        printf("round %d: trylock after owner exit: %s\n", round, name(r));
        if (r == EOWNERDEAD) {
            printf("  consistent: %d\n", pthread_mutex_consistent(&m));
        }
        printf("  unlock: %d\n", pthread_mutex_unlock(&m));
    }
    pthread_t t;
    pthread_create(&t, NULL, hold_until_waiter, NULL);
    while (!__atomic_load_n(&locked, __ATOMIC_SEQ_CST))
        usleep(1000);
    int r = pthread_mutex_lock(&m2);
    printf("waiting lock when the owner exits: %s\n", name(r));
    if (r == EOWNERDEAD)
        pthread_mutex_consistent(&m2);
    pthread_mutex_unlock(&m2);
    pthread_join(t, NULL);
    printf("lock again: %s\n", name(pthread_mutex_lock(&m2)));
    return 0;
}
