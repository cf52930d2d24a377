/* Memory that held the host stacks of ended threads is the guest's to map
 * again: 300 threads, all alive at once, come and go (under tern, each
 * has a host stack of its own, and glibc unmaps those beyond its stack
 * cache), then the
 * program maps a few hundred regions where the kernel chooses, replaces
 * part of each with MAP_FIXED (as the dynamic loader does for a library's
 * segments), reprotects, advises and unmaps them, and loads a library.
 * Every call must succeed as natively. Compared with the native run. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define THREADS 300

static pthread_barrier_t all_up;

static void *wait_all(void *arg) {
    pthread_barrier_wait(&all_up);
    return arg;
}

int main(void) {
    /* All alive at once, so that their host stacks (256 KiB each under
     * tern) outgrow glibc's stack cache when they end. */
    static pthread_t t[THREADS];
    pthread_attr_t small;
    pthread_attr_init(&small);
    pthread_attr_setstacksize(&small, 64 << 10);
    pthread_barrier_init(&all_up, NULL, THREADS + 1);
    int started = 0;
    for (int i = 0; i < THREADS; i++)
        if (pthread_create(&t[started], &small, wait_all, NULL) == 0)
            started++;
    if (started != THREADS)
        return 1;
    pthread_barrier_wait(&all_up);
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    printf("threads started and joined: %d\n", started);
    int bad = 0;
    for (int i = 0; i < 400; i++) {
        size_t len = (size_t)(64 + i % 7 * 64) << 10;
        char *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            bad++;
            continue;
        }
        if (mmap(p + 16384, 16384, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) !=
            p + 16384)
            bad++, printf("MAP_FIXED inside a mapping: %s\n", strerror(errno));
        if (mprotect(p, 4096, PROT_NONE) != 0)
            bad++, printf("mprotect: %s\n", strerror(errno));
        if (madvise(p, len, MADV_DONTNEED) != 0)
            bad++, printf("madvise: %s\n", strerror(errno));
        if (i % 2 && munmap(p, len) != 0)
            bad++, printf("munmap: %s\n", strerror(errno));
    }
    printf("failed calls: %d\n", bad);
    void *h = dlopen("libm.so.6", RTLD_NOW);
    printf("dlopen: %s\n", h ? "ok" : "failed");
    return 0;
}
