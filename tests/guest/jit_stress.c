/* Parallel translation under invalidation: WORKERS threads each generate
 * and run many distinct functions (W^X: mmap read-write, write, mprotect
 * read-execute, call; a few stay live and are called again, the oldest is
 * unmapped), all of them also call one shared function (the same guest pc
 * translated by several threads at once), while one more thread keeps
 * invalidating code of its own: it rewrites a function in place on an RWX
 * page (self-modifying code), flips another page between RW and RX with
 * mprotect, and maps and unmaps a third. Every result is checked against
 * the value the generator computed; each thread prints a checksum.
 * With a third argument `bulk` there is no invalidating thread and each
 * worker writes all its functions into one mapping first, then runs each
 * once: translation alone, for measuring it.
 * Usage: jit_stress WORKERS ROUNDS [noinval]. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE 4096
#define LIVE 8

static int rounds;
static uint32_t sums[32];
static volatile int workers_left;
static uint8_t *shared_fn;

/* Writes `uint32_t f(uint32_t x)`: eax = x; n times eax = eax * 3 + k
 * (constants k from seed); then, if `callee` is set, eax += callee(eax)
 * (a direct call). Returns the length. */
static size_t emit(uint8_t *p, uint32_t seed, int n, const uint8_t *callee) {
    uint8_t *s = p;
    *p++ = 0x89; *p++ = 0xf8;                    /* mov eax, edi */
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        *p++ = 0x8d; *p++ = 0x04; *p++ = 0x40;   /* lea eax, [rax+rax*2] */
        *p++ = 0x05;                             /* add eax, imm32 */
        memcpy(p, &seed, 4);
        p += 4;
    }
    if (callee) {
        *p++ = 0x53;                             /* push rbx */
        *p++ = 0x89; *p++ = 0xc3;                /* mov ebx, eax */
        *p++ = 0x89; *p++ = 0xc7;                /* mov edi, eax */
        *p++ = 0xe8;                             /* call rel32 */
        int32_t rel = (int32_t)(callee - (p + 4));
        memcpy(p, &rel, 4);
        p += 4;
        *p++ = 0x01; *p++ = 0xd8;                /* add eax, ebx */
        *p++ = 0x5b;                             /* pop rbx */
    }
    *p++ = 0xc3;                                 /* ret */
    return (size_t)(p - s);
}

/* What a function emitted with (seed, n) returns for x, without callee. */
static uint32_t model(uint32_t seed, int n, uint32_t x) {
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        x = x * 3 + seed;
    }
    return x;
}

typedef uint32_t (*fn_t)(uint32_t);

static void fail(const char *what, long a, long b) {
    printf("FAIL %s %ld %ld\n", what, a, b);
    exit(1);
}

/* The `bulk` worker: ROUNDS functions, 256 bytes apart, in one mapping. */
static void *bulk_worker(void *arg) {
    uint32_t id = (uint32_t)(uintptr_t)arg;
    size_t len = (size_t)rounds * 256;
    uint8_t *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED)
        fail("mmap bulk", id, 0);
    for (int r = 0; r < rounds; r++)
        emit(buf + (size_t)r * 256, id * 7919u + (uint32_t)r * 104729u, 5 + r % 20, shared_fn);
    if (mprotect(buf, len, PROT_READ | PROT_EXEC) != 0)
        fail("mprotect bulk", id, 0);
    uint32_t sum = 0;
    for (int r = 0; r < rounds; r++)
        sum = sum * 31u + ((fn_t)(buf + (size_t)r * 256))((uint32_t)r);
    sums[id] = sum;
    munmap(buf, len);
    return NULL;
}

static void *worker(void *arg) {
    uint32_t id = (uint32_t)(uintptr_t)arg;
    struct { uint8_t *buf; uint32_t seed; int n; } live[LIVE] = { { 0 } };
    uint32_t sum = 0;
    for (int r = 0; r < rounds; r++) {
        int slot = r % LIVE;
        if (live[slot].buf)
            munmap(live[slot].buf, PAGE);
        uint8_t *buf = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (buf == MAP_FAILED)
            fail("mmap", id, r);
        uint32_t seed = id * 7919u + (uint32_t)r * 104729u;
        int n = 5 + r % 40;
        /* Each function at a different offset: distinct pcs. */
        uint8_t *f = buf + (r % 16) * 64;
        emit(f, seed, n, shared_fn);
        if (mprotect(buf, PAGE, PROT_READ | PROT_EXEC) != 0)
            fail("mprotect", id, r);
        live[slot].buf = buf;
        live[slot].seed = seed;
        live[slot].n = n;
        uint32_t x = (uint32_t)r;
        uint32_t v = model(seed, n, x);
        uint32_t want = v + model(42, 30, v);
        uint32_t got = ((fn_t)f)(x);
        if (got != want)
            fail("result", (long)got, (long)want);
        sum = sum * 31u + got;
        /* An older live function, run again (its translation is reused,
         * unless an invalidation dropped it). */
        int old = (r * 5 + 3) % LIVE;
        if (live[old].buf && old != slot) {
            int rr = r - ((slot - old + LIVE) % LIVE);
            uint8_t *of = live[old].buf + (rr % 16) * 64;
            uint32_t ov = model(live[old].seed, live[old].n, 7);
            if (((fn_t)of)(7) != ov + model(42, 30, ov))
                fail("old result", id, r);
        }
    }
    for (int i = 0; i < LIVE; i++)
        if (live[i].buf)
            munmap(live[i].buf, PAGE);
    sums[id] = sum;
    __atomic_sub_fetch(&workers_left, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Invalidates its own code until the workers are done. */
static void *invalidator(void *arg) {
    (void)arg;
    uint8_t *rwx = mmap(NULL, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint8_t *flip = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (rwx == MAP_FAILED || flip == MAP_FAILED)
        fail("mmap inv", 0, 0);
    uint32_t sum = 0;
    long i = 0;
    while (__atomic_load_n(&workers_left, __ATOMIC_ACQUIRE) > 0 || i < 100) {
        uint32_t seed = (uint32_t)i;
        int n = 3 + i % 20;
        /* Self-modifying code: rewrite in place, run. */
        emit(rwx, seed, n, NULL);
        uint32_t got = ((fn_t)rwx)(1);
        if (got != model(seed, n, 1))
            fail("smc", i, got);
        /* mprotect: writable, rewrite, executable, run. */
        mprotect(flip, PAGE, PROT_READ | PROT_WRITE);
        emit(flip + 128, seed + 1, n, NULL);
        mprotect(flip, PAGE, PROT_READ | PROT_EXEC);
        if (((fn_t)(flip + 128))(2) != model(seed + 1, n, 2))
            fail("flip", i, 0);
        /* munmap: a fresh page each time. */
        uint8_t *m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            fail("mmap m", i, 0);
        emit(m, seed + 2, n, NULL);
        if (((fn_t)m)(3) != model(seed + 2, n, 3))
            fail("unmapped", i, 0);
        munmap(m, PAGE);
        sum += got;
        i++;
    }
    return (void *)(uintptr_t)sum;
}

int main(int argc, char **argv) {
    int workers = argc > 1 ? atoi(argv[1]) : 4;
    rounds = argc > 2 ? atoi(argv[2]) : 2000;
    if (workers < 1 || workers > 32)
        return 2;
    shared_fn = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (shared_fn == MAP_FAILED)
        return 3;
    emit(shared_fn, 42, 30, NULL);
    mprotect(shared_fn, PAGE, PROT_READ | PROT_EXEC);
    workers_left = workers;
    int inval = !(argc > 3 && strcmp(argv[3], "bulk") == 0);
    pthread_t t[33];
    if (inval && pthread_create(&t[workers], NULL, invalidator, NULL) != 0)
        return 4;
    for (int i = 0; i < workers; i++)
        if (pthread_create(&t[i], NULL, inval ? worker : bulk_worker, (void *)(uintptr_t)i) != 0)
            return 4;
    for (int i = 0; i < workers + inval; i++)
        pthread_join(t[i], NULL);
    /* Printed here, in order, so the output does not depend on timing. */
    for (int i = 0; i < workers; i++)
        printf("worker %d: %08x\n", i, sums[i]);
    if (inval)
        printf("invalidator: ok\n");
    return 0;
}
