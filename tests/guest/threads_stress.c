/* Stress: argv[1] threads (default 64) hammer a mutex, a futex-based
 * counter and atomics, calling generated code on a page that other threads
 * keep invalidating: one rewrites that page's code (the same bytes, so the
 * results stay exact), one mprotects it back and forth, one maps and
 * unmaps code of its own. argv[2]: iterations per thread (default 20000).
 * Every total is exact. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef long (*inc_t)(long);
static uint8_t *page;
static const uint8_t INC[] = {0x48, 0x8d, 0x47, 0x01, 0xc3}; /* lea rax, [rdi+1]; ret */
static int nthreads, iters;
static atomic_int stop;
static atomic_long atom;
static long mutex_total, futex_total;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static atomic_int flock; /* 0 free, 1 locked, 2 locked with waiters */
static long smc_rounds, prot_rounds, map_rounds;

static void futex_lock(void) {
    int c = 0;
    if (atomic_compare_exchange_strong(&flock, &c, 1)) return;
    if (c != 2) c = atomic_exchange(&flock, 2);
    while (c != 0) {
        syscall(SYS_futex, &flock, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
        c = atomic_exchange(&flock, 2);
    }
}
static void futex_unlock(void) {
    if (atomic_fetch_sub(&flock, 1) != 1) {
        atomic_store(&flock, 0);
        syscall(SYS_futex, &flock, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
}

static void *hammer(void *arg) {
    long id = (long)arg;
    inc_t inc = (inc_t)(page + (id % 4) * 64);
    long local = 0;
    for (int i = 0; i < iters; i++) {
        local = inc(local);
        atomic_fetch_add_explicit(&atom, 1, memory_order_relaxed);
        if (i % 4 == 0) {
            pthread_mutex_lock(&m);
            mutex_total++;
            pthread_mutex_unlock(&m);
        } else if (i % 4 == 1) {
            futex_lock();
            futex_total++;
            futex_unlock();
        }
    }
    return (void *)local;
}

static void *smc(void *arg) {
    (void)arg;
    while (!atomic_load(&stop)) {
        /* Rewrite one function's bytes with themselves. */
        for (int k = 0; k < 4; k++)
            memcpy(page + k * 64, INC, sizeof INC);
        smc_rounds++;
        usleep(100);
    }
    return NULL;
}

static void *protector(void *arg) {
    (void)arg;
    uint8_t *own = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(own, INC, sizeof INC);
    long bad = 0;
    while (!atomic_load(&stop)) {
        /* The shared page keeps its protection (other threads write it),
         * but the call invalidates its code under tern all the same. */
        mprotect(page, 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
        /* Its own page really changes: RX, run, RWX, run. */
        mprotect(own, 4096, PROT_READ | PROT_EXEC);
        bad += ((inc_t)own)(1) != 2;
        mprotect(own, 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
        bad += ((inc_t)own)(2) != 3;
        prot_rounds++;
        usleep(100);
    }
    return (void *)bad;
}

static void *mapper(void *arg) {
    (void)arg;
    while (!atomic_load(&stop)) {
        uint8_t *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        memcpy(p, INC, sizeof INC);
        long v = ((inc_t)p)(41);
        munmap(p, 4096);
        if (v != 42) return (void *)1;
        map_rounds++;
        usleep(100);
    }
    return NULL;
}

int main(int argc, char **argv) {
    nthreads = argc > 1 ? atoi(argv[1]) : 64;
    iters = argc > 2 ? atoi(argv[2]) : 20000;
    page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int k = 0; k < 4; k++)
        memcpy(page + k * 64, INC, sizeof INC);
    pthread_t inv[3], *t = calloc(nthreads, sizeof *t);
    pthread_create(&inv[0], NULL, smc, NULL);
    pthread_create(&inv[1], NULL, protector, NULL);
    pthread_create(&inv[2], NULL, mapper, NULL);
    for (long i = 0; i < nthreads; i++)
        pthread_create(&t[i], NULL, hammer, (void *)i);
    long sum = 0;
    for (int i = 0; i < nthreads; i++) {
        void *r;
        pthread_join(t[i], &r);
        sum += (long)r;
    }
    atomic_store(&stop, 1);
    long mapper_bad = 0;
    for (int i = 0; i < 3; i++) {
        void *r;
        pthread_join(inv[i], &r);
        mapper_bad += (long)r;
    }
    long want = (long)nthreads * iters;
    printf("%d threads x %d: generated-code sum %s, atomic %s, mutex %s, futex %s, mapper/protector %s\n", nthreads, iters,
           sum == want ? "exact" : "WRONG", atom == want ? "exact" : "WRONG",
           mutex_total == (long)nthreads * ((iters + 3) / 4) ? "exact" : "WRONG",
           futex_total == (long)nthreads * ((iters + 2) / 4) ? "exact" : "WRONG", mapper_bad ? "WRONG" : "ok");
    printf("invalidators ran: %d\n", smc_rounds > 0 && prot_rounds > 0 && map_rounds > 0);
    return 0;
}
