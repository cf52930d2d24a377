/* A guest that keeps generating code, as a JIT does: each thread maps a
 * buffer, writes a distinct function into it (a chain of `add eax, imm32`
 * with a loop around it), makes it executable (W^X through mprotect, or a
 * RWX mapping rewritten in place), calls it, and unmaps it. Under tern with
 * a small `--cache-size` this fills the code cache many times over.
 * Usage: code_churn THREADS ROUNDS [rwx]. Prints one checksum per thread. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static int rounds;
static int rwx;

/* Writes `int f(int x)`: for (i = x; i; i--) eax += k0 + ... + kN. */
static size_t emit(uint8_t *p, uint32_t seed, int n) {
    uint8_t *s = p;
    *p++ = 0x31; *p++ = 0xc0;                    /* xor eax, eax */
    *p++ = 0x89; *p++ = 0xf9;                    /* mov ecx, edi */
    uint8_t *top = p;
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        *p++ = 0x05;                             /* add eax, imm32 */
        memcpy(p, &seed, 4);
        p += 4;
    }
    *p++ = 0xff; *p++ = 0xc9;                    /* dec ecx */
    *p++ = 0x0f; *p++ = 0x85;                    /* jnz top */
    int32_t rel = (int32_t)(top - (p + 4));
    memcpy(p, &rel, 4);
    p += 4;
    *p++ = 0xc3;                                 /* ret */
    return (size_t)(p - s);
}

static void *worker(void *arg) {
    uintptr_t id = (uintptr_t)arg;
    uint32_t sum = 0;
    size_t len = 8192;
    uint8_t *keep = NULL;
    if (rwx) {
        keep = mmap(NULL, len, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (keep == MAP_FAILED) { perror("mmap"); exit(1); }
    }
    for (int r = 0; r < rounds; r++) {
        uint8_t *buf = keep;
        if (!rwx) {
            buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (buf == MAP_FAILED) { perror("mmap"); exit(1); }
        }
        /* A different length and different constants every round. */
        emit(buf, (uint32_t)(id * 1000003u + (uint32_t)r), 100 + r % 150);
        if (!rwx && mprotect(buf, len, PROT_READ | PROT_EXEC) != 0) { perror("mprotect"); exit(1); }
        int (*f)(int) = (int (*)(int))buf;
        sum = sum * 31u + (uint32_t)f(1 + r % 5);
        if (!rwx)
            munmap(buf, len);
    }
    if (keep)
        munmap(keep, len);
    return (void *)(uintptr_t)sum;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    rounds = argc > 2 ? atoi(argv[2]) : 1000;
    rwx = argc > 3 && strcmp(argv[3], "rwx") == 0;
    pthread_t t[64];
    if (threads < 1 || threads > 64) return 2;
    for (int i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i) != 0) return 3;
    for (int i = 0; i < threads; i++) {
        void *r;
        pthread_join(t[i], &r);
        printf("thread %d: %08x\n", i, (unsigned)(uintptr_t)r);
    }
    return 0;
}
