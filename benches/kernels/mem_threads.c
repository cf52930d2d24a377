/* Memory per idle thread: reads the process's resident set size, starts N
 * threads (default attributes) that each touch a little of their stack and
 * then wait on a barrier, reads it again with all of them alive, and
 * prints the growth per thread in KiB. Run natively and under an emulator,
 * the difference is the emulator's own cost per guest thread (its state,
 * lookup table, host stack and signal stack). One thread is started and
 * joined first, so that one-time costs (the C library's and the
 * emulator's first thread) are not counted. With a second argument R, the
 * main thread also generates, runs and unmaps R small functions (as a JIT
 * does) before the first reading and once while the others are idle,
 * before the second, and what such a round grows by itself is subtracted: an
 * emulator's invalidations and code-cache flushes must not make the idle
 * threads' tables resident. */
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_barrier_t ready, done;

static long rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = atol(line + 6);
    if (f)
        fclose(f);
    return kib;
}

static void *idle(void *arg) {
    volatile char buf[4096];
    memset((char *)buf, (int)(long)arg, sizeof buf);
    pthread_barrier_wait(&ready);
    pthread_barrier_wait(&done);
    return NULL;
}

static void *nothing(void *arg) { return arg; }

/* Generates `int f(int x) { return x + k; }` R times, each in its own page
 * of a 4 MiB arena that is unmapped (all its functions at once) and mapped
 * again every 1024 functions: distinct addresses, as a JIT's code has. */
#define ARENA_PAGES 1024
static unsigned churn(int rounds) {
    unsigned sum = 0;
    uint8_t *arena = NULL;
    for (int r = 0; r < rounds; r++) {
        if (r % ARENA_PAGES == 0) {
            if (arena)
                munmap(arena, ARENA_PAGES * 4096);
            arena = mmap(NULL, ARENA_PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (arena == MAP_FAILED) {
                perror("mmap");
                exit(1);
            }
        }
        uint8_t *p = arena + (size_t)(r % ARENA_PAGES) * 4096;
        uint32_t k = (uint32_t)r * 2654435761u;
        p[0] = 0x89; p[1] = 0xf8;                /* mov eax, edi */
        p[2] = 0x05;                             /* add eax, imm32 */
        memcpy(p + 3, &k, 4);
        p[7] = 0xc3;                             /* ret */
        mprotect(p, 4096, PROT_READ | PROT_EXEC);
        sum += (unsigned)((int (*)(int))p)(r);
    }
    if (arena)
        munmap(arena, ARENA_PAGES * 4096);
    return sum;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 64;
    int rounds = argc > 2 ? atoi(argv[2]) : 0;
    if (n < 1)
        return 2;
    pthread_t *t = calloc((size_t)n, sizeof *t);
    pthread_barrier_init(&ready, NULL, (unsigned)n + 1);
    pthread_barrier_init(&done, NULL, (unsigned)n + 1);
    pthread_t first;
    if (pthread_create(&first, NULL, nothing, NULL) != 0 || pthread_join(first, NULL) != 0)
        return 1;
    /* A first round brings an emulator's code cache to its steady state
     * (full, when it is small); the second one shows what a round grows. */
    unsigned sum = churn(rounds);
    long start = rss_kib();
    sum += churn(rounds);
    long before = rss_kib();
    for (int i = 0; i < n; i++)
        if (pthread_create(&t[i], NULL, idle, (void *)(long)i) != 0) {
            perror("pthread_create");
            return 1;
        }
    pthread_barrier_wait(&ready);
    sum += churn(rounds);
    long after = rss_kib() - (before - start);
    pthread_barrier_wait(&done);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    printf("threads %d rounds %d sum %08x per_thread_kib %.1f\n", n, rounds, sum, (double)(after - before) / n);
    return 0;
}
