/* Several hot loops, long enough for their traces to be compiled and run
 * while they run (bisection and stats tests). With an argument "threads"
 * each kernel runs in a thread of its own. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

__attribute__((noinline)) static unsigned long k_lcg(unsigned long n) {
    unsigned long x = 1;
    for (unsigned long i = 0; i < n; i++) x = x * 6364136223846793005UL + (i | 1);
    return x;
}

__attribute__((noinline)) static unsigned long k_sum(unsigned long n) {
    unsigned long s = 0;
    for (unsigned long i = 0; i < n; i++) s += (i * i) ^ (s >> 3);
    return s;
}

__attribute__((noinline)) static unsigned long k_bits(unsigned long n) {
    unsigned long c = 0, v = 0x9e3779b97f4a7c15UL;
    for (unsigned long i = 0; i < n; i++) {
        v ^= v << 13;
        v ^= v >> 7;
        v ^= v << 17;
        c += v & 0xff;
    }
    return c;
}

static unsigned long (*const kernels[])(unsigned long) = {k_lcg, k_sum, k_bits};
static unsigned long results[3];

static void *run(void *arg) {
    long k = (long)arg;
    for (int rep = 0; rep < 40; rep++) results[k] += kernels[k](1000000 + rep);
    return 0;
}

int main(int argc, char **argv) {
    int threads = argc > 1 && strcmp(argv[1], "threads") == 0;
    pthread_t t[3];
    for (long k = 0; k < 3; k++) {
        if (threads)
            pthread_create(&t[k], 0, run, (void *)k);
        else
            run((void *)k);
    }
    if (threads)
        for (int k = 0; k < 3; k++) pthread_join(t[k], 0);
    for (int k = 0; k < 3; k++) printf("kernel %d: %lx\n", k, results[k]);
    return 0;
}
