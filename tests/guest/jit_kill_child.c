/* A child on the parent's memory (vfork, or clone with CLONE_VM alone)
 * killed by SIGKILL while it keeps generating and running new code, as a
 * JIT does: under tern the child translates all the time, so the kill
 * often lands while it holds the translator's lock. The parent must carry
 * on: it generates and runs new code of its own afterwards (more
 * translation) and prints checksums that do not depend on timing.
 * A vfork parent is suspended until its child ends, so a helper thread
 * sends the kill; a CLONE_VM parent sends it itself.
 * Usage: jit_kill_child vfork|clonevm ROUNDS. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The child's pid, stored by the child itself (shared memory), and how
 * many functions it has run so far. */
static volatile pid_t victim;
static volatile long child_runs;

/* Writes `int f(void)`: eax = k0 + k1 + ... (n constants from seed). */
static size_t emit(uint8_t *p, uint32_t seed, int n, uint32_t *want) {
    uint8_t *s = p;
    uint32_t sum = 0;
    *p++ = 0x31; *p++ = 0xc0;                    /* xor eax, eax */
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        *p++ = 0x05;                             /* add eax, imm32 */
        memcpy(p, &seed, 4);
        p += 4;
        sum += seed;
    }
    *p++ = 0xc3;                                 /* ret */
    *want = sum;
    return (size_t)(p - s);
}

/* The child: new code at a new place every time, forever. */
static int child_main(void *arg) {
    (void)arg;
    uint8_t *buf = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED)
        _exit(3);
    victim = getpid();
    for (uint32_t r = 0;; r++) {
        uint8_t *f = buf + (r % 2048) * 512;
        uint32_t want;
        emit(f, r, 20 + r % 60, &want);
        if (((int (*)(void))f)() != (int)want)
            _exit(4);
        child_runs = child_runs + 1;
    }
}

static void sleep_ms(int ms) {
    struct timespec ts = { 0, ms * 1000000L };
    nanosleep(&ts, NULL);
}

/* Waits until the child has run a few functions, then kills it. */
static void kill_victim(int delay_ms) {
    while (victim == 0 || child_runs < 50)
        sched_yield();
    sleep_ms(delay_ms);
    kill(victim, SIGKILL);
}

static void *killer(void *arg) {
    kill_victim((int)(intptr_t)arg);
    return NULL;
}

static char child_stack[256 * 1024] __attribute__((aligned(16)));

/* The parent's own code generation after a kill: 64 fresh functions. */
static uint32_t parent_work(uint8_t *buf, uint32_t round) {
    uint32_t sum = 0;
    for (uint32_t i = 0; i < 64; i++) {
        uint8_t *f = buf + i * 512;
        uint32_t want;
        emit(f, round * 1000 + i, 30 + i % 40, &want);
        uint32_t got = (uint32_t)((int (*)(void))f)();
        if (got != want) {
            printf("round %u function %u: %08x, want %08x\n", round, i, got, want);
            exit(1);
        }
        sum = sum * 31u + got;
    }
    return sum;
}

int main(int argc, char **argv) {
    if (argc < 3)
        return 2;
    int vm_clone = strcmp(argv[1], "clonevm") == 0;
    int rounds = atoi(argv[2]);
    uint8_t *buf = mmap(NULL, 64 * 512, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED)
        return 3;
    for (int r = 0; r < rounds; r++) {
        victim = 0;
        child_runs = 0;
        int delay = r % 7;
        pid_t pid;
        if (vm_clone) {
            pid = clone(child_main, child_stack + sizeof child_stack, CLONE_VM | SIGCHLD, NULL);
            if (pid > 0)
                kill_victim(delay);
        } else {
            pthread_t t;
            if (pthread_create(&t, NULL, killer, (void *)(intptr_t)delay) != 0)
                return 4;
            pid = vfork();
            if (pid == 0)
                child_main(NULL);
            pthread_join(t, NULL);
        }
        if (pid < 0) {
            perror("clone");
            return 5;
        }
        int st;
        if (waitpid(pid, &st, 0) != pid || !WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL) {
            printf("round %d: child status %#x\n", r, st);
            return 6;
        }
        printf("round %d: %08x\n", r, parent_work(buf, (uint32_t)r));
    }
    return 0;
}
