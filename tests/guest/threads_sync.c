/* pthread synchronisation with 2 to 64 threads: mutex, condvar, barrier,
 * rwlock, semaphore, spinlock, __thread TLS and C11 atomics. Every total is
 * exact, so the output is the same natively and under tern whatever the
 * interleaving. */
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define ITERS 2000

static int nthreads;
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t barrier;
static pthread_rwlock_t rwlock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_spinlock_t spin;
static sem_t sem;

static long mutex_count, spin_count, rw_count, sem_count;
static atomic_long atomic_count;
static atomic_int cas_count;
static long turn_log[64 * 4];
static int turn, turn_pos;
static __thread long tls_value = 7;
static __thread char tls_buf[64];

static void *worker(void *arg) {
    long id = (long)arg;
    tls_value += id;
    snprintf(tls_buf, sizeof tls_buf, "thread %ld", id);
    for (int i = 0; i < ITERS; i++) {
        pthread_mutex_lock(&mutex);
        mutex_count++;
        pthread_mutex_unlock(&mutex);
        pthread_spin_lock(&spin);
        spin_count++;
        pthread_spin_unlock(&spin);
        atomic_fetch_add_explicit(&atomic_count, 2, memory_order_relaxed);
        int old = atomic_load(&cas_count);
        while (!atomic_compare_exchange_weak(&cas_count, &old, old + 1)) {
        }
        if (i % 16 == 0) {
            pthread_rwlock_wrlock(&rwlock);
            rw_count++;
            pthread_rwlock_unlock(&rwlock);
        } else {
            pthread_rwlock_rdlock(&rwlock);
            long seen = rw_count;
            (void)seen;
            pthread_rwlock_unlock(&rwlock);
        }
        sem_wait(&sem);
        sem_count++; /* the semaphore holds 1: a mutex */
        sem_post(&sem);
    }
    /* Everyone arrives before anyone reads the totals. */
    int r = pthread_barrier_wait(&barrier);
    long ok = (mutex_count == (long)nthreads * ITERS);
    /* Take turns in id order with the condition variable. */
    for (int round = 0; round < 2; round++) {
        pthread_mutex_lock(&mutex);
        while (turn % nthreads != id)
            pthread_cond_wait(&cond, &mutex);
        turn_log[turn_pos++] = id;
        turn++;
        pthread_cond_broadcast(&cond);
        pthread_mutex_unlock(&mutex);
    }


    return (void *)((tls_value - 7) * 4 + ok * 2 + (r == PTHREAD_BARRIER_SERIAL_THREAD));
}

static void run(int n) {
    nthreads = n;
    mutex_count = spin_count = rw_count = sem_count = 0;
    atomic_store(&atomic_count, 0);
    atomic_store(&cas_count, 0);
    turn = turn_pos = 0;
    pthread_barrier_init(&barrier, NULL, n);
    pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE);
    sem_init(&sem, 0, 1);
    pthread_t t[64];
    for (long i = 0; i < n; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)i) != 0) {
            printf("pthread_create failed\n");
            exit(1);
        }
    long ids = 0, oks = 0, serial = 0;
    for (int i = 0; i < n; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        long v = (long)ret;
        ids += v / 4;
        oks += (v / 2) & 1;
        serial += v & 1;
    }
    int ordered = 1;
    for (int i = 0; i < 2 * n; i++)
        ordered &= turn_log[i] == i % n;
    printf("%2d threads: mutex %ld spin %ld atomic %ld cas %d rw %ld sem %ld tls-ids %ld ok %ld serial %ld turns-in-order %d\n",
           n, mutex_count, spin_count, (long)atomic_count, (int)cas_count, rw_count, sem_count, ids, oks, serial,
           ordered);
    pthread_barrier_destroy(&barrier);
    pthread_spin_destroy(&spin);
    sem_destroy(&sem);
}

int main(void) {
    printf("main tls %ld\n", tls_value);
    for (int n = 2; n <= 64; n *= 2)
        run(n);
    printf("main tls still %ld\n", tls_value);
    return 0;
}
