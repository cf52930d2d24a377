/* A pthread kernel: THREADS worker threads (argument 2, default 2, at most
 * 8) each count the primes in interleaved blocks of [2, SIZE) by trial
 * division, and fold the primes they find into per-thread checksums that
 * are combined after pthread_join. The output does not depend on the
 * number of threads, so a 1-thread and a 2-thread run do the same work
 * (the report's parallel speedup). */
#include <pthread.h>
#include "common.h"

#define MAX_THREADS 8
#define BLOCK 4096

typedef struct {
    long id, threads, limit;
    uint64_t count, sum;
} job;

static int is_prime(long v) {
    if (v < 2)
        return 0;
    for (long d = 2; d * d <= v; d++)
        if (v % d == 0)
            return 0;
    return 1;
}

static void *worker(void *arg) {
    job *j = arg;
    for (long start = j->id * BLOCK; start < j->limit; start += j->threads * BLOCK)
        for (long v = start; v < start + BLOCK && v < j->limit; v++)
            if (is_prime(v)) {
                j->count++;
                j->sum += (uint64_t)v * (uint64_t)v;
            }
    return NULL;
}

int main(int argc, char **argv) {
    long limit = arg_size(argc, argv, 1000000);
    long threads = argc > 2 ? strtol(argv[2], NULL, 10) : 2;
    if (threads < 1 || threads > MAX_THREADS) {
        fprintf(stderr, "usage: %s SIZE [THREADS (1..%d)]\n", argv[0], MAX_THREADS);
        return 2;
    }
    pthread_t t[MAX_THREADS];
    job jobs[MAX_THREADS];
    for (long i = 0; i < threads; i++) {
        jobs[i] = (job){i, threads, limit, 0, 0};
        if (pthread_create(&t[i], NULL, worker, &jobs[i])) {
            perror("pthread_create");
            return 1;
        }
    }
    uint64_t count = 0, sum = 0;
    for (long i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        count += jobs[i].count;
        sum += jobs[i].sum;
    }
    printf("pthread limit=%ld primes=%llu sumsq=%llu\n", limit, (unsigned long long)count, (unsigned long long)sum);
    return 0;
}
