/* Many threads: argv[1] threads created and joined one after another (in
 * waves of 8), then argv[2] threads alive at once, all blocked on one
 * barrier before any exits. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_barrier_t barrier;
static long alive_sum;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static void *quick(void *arg) { return (void *)((long)arg * 3); }

static void *wait_all(void *arg) {
    pthread_mutex_lock(&m);
    alive_sum += (long)arg;
    pthread_mutex_unlock(&m);
    pthread_barrier_wait(&barrier);
    return NULL;
}

int main(int argc, char **argv) {
    long total = argc > 1 ? atol(argv[1]) : 10000;
    long at_once = argc > 2 ? atol(argv[2]) : 1000;
    long sum = 0, created = 0;
    for (long i = 0; i < total; i += 8) {
        pthread_t t[8];
        int n = 0;
        for (; n < 8 && i + n < total; n++)
            if (pthread_create(&t[n], NULL, quick, (void *)(i + n)) != 0) {
                printf("create %ld failed\n", i + n);
                return 1;
            }
        for (int k = 0; k < n; k++) {
            void *r;
            pthread_join(t[k], &r);
            sum += (long)r;
            created++;
        }
    }
    printf("%ld threads created and joined, sum %ld\n", created, sum);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_barrier_init(&barrier, NULL, at_once + 1);
    pthread_t *all = calloc(at_once, sizeof *all);
    for (long i = 0; i < at_once; i++)
        if (pthread_create(&all[i], &attr, wait_all, (void *)i) != 0) {
            printf("create %ld of %ld alive failed\n", i, at_once);
            return 1;
        }
    pthread_barrier_wait(&barrier);
    for (long i = 0; i < at_once; i++)
        pthread_join(all[i], NULL);
    printf("%ld threads alive at once, sum %ld\n", at_once, alive_sum);
    return 0;
}
