/* A guest that keeps generating code, as a JIT does: each thread maps a
 * buffer, writes a distinct function into it (a chain of `add eax, imm32`
 * with a loop around it), makes it executable (W^X through mprotect, or a
 * RWX mapping rewritten in place), calls it, and unmaps it. Under tern with
 * a small `--cache-size` this fills the code cache many times over.
 * With `vfork` or `clonevm`, the main thread meanwhile keeps starting
 * children (vfork, or clone with CLONE_VM alone) on the same memory that
 * spin in a loop until the workers have made progress: a flush must not
 * wait for such a child to leave generated code on its own.
 * Usage: code_churn THREADS ROUNDS [rwx|vfork|clonevm]. Prints one
 * checksum per thread. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static int rounds;
static int rwx;
/* Rounds done by all workers, and how many there are in all. */
static volatile int progress;
static int total;

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
        __atomic_add_fetch(&progress, 1, __ATOMIC_RELAXED);
    }
    if (keep)
        munmap(keep, len);
    return (void *)(uintptr_t)sum;
}

/* Spins in generated code (no syscall) until the workers have done 20
 * more rounds, or all of them. */
static int spin_child(void *arg) {
    (void)arg;
    int start = __atomic_load_n(&progress, __ATOMIC_RELAXED);
    while (__atomic_load_n(&progress, __ATOMIC_RELAXED) < start + 20 &&
           __atomic_load_n(&progress, __ATOMIC_RELAXED) < total)
        ;
    return 0;
}

static char child_stack[64 * 1024] __attribute__((aligned(16)));

/* Keeps starting spinning children until the workers are done. */
static void spawn_spinners(int vm_clone) {
    while (__atomic_load_n(&progress, __ATOMIC_RELAXED) < total) {
        pid_t pid;
        if (vm_clone) {
            pid = clone(spin_child, child_stack + sizeof child_stack, CLONE_VM | SIGCHLD, NULL);
        } else {
            pid = vfork();
            if (pid == 0)
                _exit(spin_child(NULL));
        }
        if (pid < 0) { perror("clone"); exit(1); }
        int st;
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) { perror("waitpid"); exit(1); }
    }
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    rounds = argc > 2 ? atoi(argv[2]) : 1000;
    const char *mode = argc > 3 ? argv[3] : "";
    rwx = strcmp(mode, "rwx") == 0;
    pthread_t t[64];
    if (threads < 1 || threads > 64) return 2;
    total = threads * rounds;
    for (int i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i) != 0) return 3;
    if (strcmp(mode, "vfork") == 0 || strcmp(mode, "clonevm") == 0)
        spawn_spinners(strcmp(mode, "clonevm") == 0);
    for (int i = 0; i < threads; i++) {
        void *r;
        pthread_join(t[i], &r);
        printf("thread %d: %08x\n", i, (unsigned)(uintptr_t)r);
    }
    return 0;
}
