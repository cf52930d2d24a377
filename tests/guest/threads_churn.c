/* Threads started several at once, over and over: some that return at
 * once (their tid word, which glibc has the kernel both set at clone and
 * clear at exit, must end cleared, or the join waits forever: tern's
 * creator once set it after a quick thread had already ended), and some
 * that spin until an asynchronous cancel ends them (glibc's tst-cancel32;
 * tern's creator waited for each new thread to be scheduled, which took a
 * scheduling round whenever every CPU was busy spinning). Every thread's
 * tid as its creator saw it must be the one the thread sees. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#define N 8

static pid_t seen[N];
static atomic_int go;

static void *quick(void *arg) {
    seen[(long)arg] = (pid_t)syscall(SYS_gettid);
    return arg;
}

/* Waits for its creator to have read its tid before it ends. */
static void *gated(void *arg) {
    while (!atomic_load(&go))
        ;
    return quick(arg);
}

/* The tid glibc keeps for `t` (the kernel stores it there before
 * pthread_create returns), through the CPU-time clock id glibc makes of
 * it: ~tid << 3 | 6. -1 if glibc refuses (no tid). */
static pid_t tid_of(pthread_t t) {
    clockid_t c;
    if (pthread_getcpuclockid(t, &c) != 0)
        return -1;
    return (pid_t) ~((int)c >> 3);
}

static void *spin(void *arg) {
    seen[(long)arg] = (pid_t)syscall(SYS_gettid);
    pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
    for (;;)
        __asm__ volatile("" ::: "memory");
    return NULL;
}

int main(void) {
    int bad_ret = 0, bad_tid = 0, not_cancelled = 0;
    for (int round = 0; round < 200; round++) {
        pthread_t t[N];
        pid_t tid[N];
        int gate = round % 2;
        atomic_store(&go, 0);
        for (long i = 0; i < N; i++) {
            pthread_create(&t[i], NULL, gate ? gated : quick, (void *)i);
            if (gate)
                tid[i] = tid_of(t[i]);
        }
        atomic_store(&go, 1);
        for (long i = 0; i < N; i++) {
            void *r;
            pthread_join(t[i], &r);
            bad_ret += r != (void *)i;
            bad_tid += gate && tid[i] != seen[i];
        }
    }
    for (int round = 0; round < 20; round++) {
        pthread_t t[N];
        for (long i = 0; i < N; i++)
            pthread_create(&t[i], NULL, spin, (void *)i);
        for (long i = 0; i < N; i++)
            pthread_cancel(t[i]);
        for (long i = 0; i < N; i++) {
            void *r;
            pthread_join(t[i], &r);
            not_cancelled += r != PTHREAD_CANCELED;
        }
    }
    printf("quick threads: %d wrong results, %d wrong tids; spinning threads: %d not cancelled\n", bad_ret, bad_tid,
           not_cancelled);
    return 0;
}
