/* Futex ping-pong: two threads pass a token SIZE times through one futex
 * word, each waiting (FUTEX_WAIT) until the other flips it and wakes it. */
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "common.h"

static _Atomic int word;
static long rounds;

static void futex_wait(int expected) {
    while (atomic_load(&word) == expected)
        syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_set(int v) {
    atomic_store(&word, v);
    syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *partner(void *arg) {
    (void)arg;
    for (long i = 0; i < rounds; i++) {
        futex_wait(0);
        futex_set(0);
    }
    return NULL;
}

int main(int argc, char **argv) {
    rounds = arg_size(argc, argv, 100000);
    pthread_t t;
    if (pthread_create(&t, NULL, partner, NULL)) {
        perror("pthread_create");
        return 1;
    }
    for (long i = 0; i < rounds; i++) {
        futex_set(1);
        futex_wait(1);
    }
    pthread_join(t, NULL);
    printf("futex rounds=%ld\n", rounds);
    return 0;
}
