/* Thread create + join: SIZE times start a thread that does a little work
 * and join it, summing what the threads return. */
#include <pthread.h>
#include "common.h"

static void *work(void *arg) {
    uintptr_t v = (uintptr_t)arg;
    return (void *)(v * v + 1);
}

int main(int argc, char **argv) {
    long n = arg_size(argc, argv, 10000);
    uint64_t sum = 0;
    for (long i = 0; i < n; i++) {
        pthread_t t;
        void *ret;
        if (pthread_create(&t, NULL, work, (void *)(uintptr_t)i)) {
            perror("pthread_create");
            return 1;
        }
        pthread_join(t, &ret);
        sum += (uint64_t)(uintptr_t)ret;
    }
    printf("threads n=%ld sum=%llu\n", n, (unsigned long long)sum);
    return 0;
}
