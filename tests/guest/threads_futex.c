/* futex in its forms between threads: WAIT/WAKE, WAIT_BITSET/WAKE_BITSET,
 * REQUEUE, CMP_REQUEUE, WAKE_OP, LOCK_PI/UNLOCK_PI/TRYLOCK_PI, futex_waitv,
 * and the errors (EAGAIN on a changed value, ETIMEDOUT, EINVAL). Results
 * are counts and errnos, independent of scheduling. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef FUTEX2_SIZE_U32
#define FUTEX2_SIZE_U32 0x02
#endif
#ifndef FUTEX2_PRIVATE
#define FUTEX2_PRIVATE 128
#endif

static long futex(uint32_t *uaddr, int op, uint32_t val, const void *t, uint32_t *uaddr2, uint32_t val3) {
    long r = syscall(SYS_futex, uaddr, op, val, t, uaddr2, val3);
    return r < 0 ? -errno : r;
}

static const char *err(long r) {
    static char buf[32];
    switch (r) {
    case -EAGAIN: return "EAGAIN";
    case -ETIMEDOUT: return "ETIMEDOUT";
    case -EINVAL: return "EINVAL";
    case -EPERM: return "EPERM";
    case -EDEADLK: return "EDEADLK";
    case -EBUSY: return "EBUSY";
    }
    snprintf(buf, sizeof buf, "%ld", r);
    return buf;
}

static uint32_t word, word2, pi_word;
static int waiting;
static long woken_by[8];

struct arg { int id; int op; uint32_t bitset; uint32_t *addr; };

static void *waiter(void *p) {
    struct arg *a = p;
    __atomic_add_fetch(&waiting, 1, __ATOMIC_SEQ_CST);
    long r;
    do {
        r = a->op == FUTEX_WAIT_BITSET ? futex(a->addr, FUTEX_WAIT_BITSET, 0, NULL, NULL, a->bitset)
                                       : futex(a->addr, FUTEX_WAIT, 0, NULL, NULL, 0);
    } while (__atomic_load_n(a->addr, __ATOMIC_SEQ_CST) == 0 && r == -EAGAIN);
    woken_by[a->id] = r;
    return NULL;
}

/* Waits until `n` threads sit in FUTEX_WAIT on `addr`: a requeue of no
 * waiter to the same word wakes nobody and returns how many wait there. */
static void settle(uint32_t *addr, int n) {
    while (futex(addr, FUTEX_REQUEUE, 0, (void *)0x7fffffff, addr, 0) != n)
        usleep(1000);
}

static int wake_all(uint32_t *addr, int n) {
    int total = 0;
    while (total < n) {
        long r = futex(addr, FUTEX_WAKE, n - total, NULL, NULL, 0);
        if (r > 0) total += r;
        else usleep(1000);
    }
    return total;
}

static void *pi_holder(void *p) {
    (void)p;
    long r = futex(&pi_word, FUTEX_LOCK_PI, 0, NULL, NULL, 0);
    uint32_t tid = gettid();
    printf("pi lock by thread: %s, owner word is tid: %d\n", err(r), (pi_word & FUTEX_TID_MASK) == tid);
    __atomic_store_n(&waiting, 1, __ATOMIC_SEQ_CST);
    /* Unlock once the main thread blocks in LOCK_PI. */
    while (!(__atomic_load_n(&pi_word, __ATOMIC_SEQ_CST) & FUTEX_WAITERS))
        usleep(1000);
    return (void *)futex(&pi_word, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0);
}

int main(void) {
    struct timespec short_ts = {0, 1000000};
    printf("wait on changed value: %s\n", err(futex(&word, FUTEX_WAIT, 1, NULL, NULL, 0)));
    printf("wait timeout: %s\n", err(futex(&word, FUTEX_WAIT, 0, &short_ts, NULL, 0)));
    printf("bitset 0: %s\n", err(futex(&word, FUTEX_WAIT_BITSET, 0, NULL, NULL, 0)));
    printf("wake nobody: %s\n", err(futex(&word, FUTEX_WAKE, 1, NULL, NULL, 0)));

    /* WAIT/WAKE with 4 waiters. */
    pthread_t t[4];
    struct arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct arg){i, FUTEX_WAIT, 0, &word};
        pthread_create(&t[i], NULL, waiter, &args[i]);
    }
    settle(&word, 4);
    __atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
    printf("woke %d of 4\n", wake_all(&word, 4));
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);

    /* Bitsets: waiters on bits 1 and 2; a wake of bit 2 wakes one. */
    word = 0;
    waiting = 0;
    for (int i = 0; i < 2; i++) {
        args[i] = (struct arg){i, FUTEX_WAIT_BITSET, 1u << (i + 1), &word};
        pthread_create(&t[i], NULL, waiter, &args[i]);
    }
    settle(&word, 2);
    __atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
    long r = futex(&word, FUTEX_WAKE_BITSET, 8, NULL, NULL, 4);
    printf("wake bitset 4: %ld\n", r);
    pthread_join(t[1], NULL);
    r = futex(&word, FUTEX_WAKE_BITSET, 8, NULL, NULL, 2);
    printf("wake bitset 2: %ld\n", r);
    pthread_join(t[0], NULL);

    /* REQUEUE and CMP_REQUEUE: 4 waiters on word, 1 woken, the rest
     * moved to word2, then woken there. */
    word = 0;
    word2 = 0;
    waiting = 0;
    for (int i = 0; i < 4; i++) {
        args[i] = (struct arg){i, FUTEX_WAIT, 0, &word};
        pthread_create(&t[i], NULL, waiter, &args[i]);
    }
    settle(&word, 4);
    printf("cmp_requeue with a wrong value: %s\n", err(futex(&word, FUTEX_CMP_REQUEUE, 1, (void *)2, &word2, 5)));
    r = futex(&word, FUTEX_CMP_REQUEUE, 1, (void *)1, &word2, 0);
    printf("cmp_requeue: %ld (woken + requeued)\n", r);
    r = futex(&word, FUTEX_REQUEUE, 0, (void *)8, &word2, 0);
    printf("requeue: %ld\n", r);
    settle(&word2, 3);
    __atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&word2, 1, __ATOMIC_SEQ_CST);
    int w2 = 0;
    while (w2 < 3) {
        long k = futex(&word2, FUTEX_WAKE, 8, NULL, NULL, 0);
        if (k > 0) w2 += k;
        else break;
    }
    printf("woken on word2: %d\n", w2);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);

    /* WAKE_OP: word2 += 5 and wake on word if old word2 == 1. */
    word2 = 1;
    r = futex(&word, FUTEX_WAKE_OP, 1, (void *)1, &word2, FUTEX_OP(FUTEX_OP_ADD, 5, FUTEX_OP_CMP_EQ, 1));
    printf("wake_op: %ld, word2 now %u\n", r, word2);

    /* PI: a thread holds it, the main thread blocks in LOCK_PI, TRYLOCK_PI fails meanwhile. */
    waiting = 0;
    pthread_create(&t[0], NULL, pi_holder, NULL);
    while (!__atomic_load_n(&waiting, __ATOMIC_SEQ_CST)) usleep(1000);
    printf("trylock_pi while held: %s\n", err(futex(&pi_word, FUTEX_TRYLOCK_PI, 0, NULL, NULL, 0)));
    r = futex(&pi_word, FUTEX_LOCK_PI, 0, NULL, NULL, 0);
    printf("lock_pi by main: %s, owner is main: %d\n", err(r), (pi_word & FUTEX_TID_MASK) == (uint32_t)gettid());
    printf("lock_pi again: %s\n", err(futex(&pi_word, FUTEX_LOCK_PI, 0, NULL, NULL, 0)));
    printf("unlock_pi: %s\n", err(futex(&pi_word, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0)));
    printf("unlock_pi not owner: %s\n", err(futex(&pi_word, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0)));
    void *ret;
    pthread_join(t[0], &ret);
    printf("pi unlock by thread: %s\n", err((long)ret));

    /* futex_waitv on two words; a wake on the second one returns its index. */
#ifdef SYS_futex_waitv
    struct futex_waitv wv[2];
    memset(wv, 0, sizeof wv);
    word = 0;
    word2 = 0;
    wv[0].val = 1; /* mismatch */
    wv[0].uaddr = (uintptr_t)&word;
    wv[0].flags = FUTEX2_SIZE_U32 | FUTEX2_PRIVATE;
    wv[1].val = 0;
    wv[1].uaddr = (uintptr_t)&word2;
    wv[1].flags = FUTEX2_SIZE_U32 | FUTEX2_PRIVATE;
    r = syscall(SYS_futex_waitv, wv, 2, 0, NULL, CLOCK_MONOTONIC);
    printf("futex_waitv with a changed value: %s\n", err(r < 0 ? -errno : r));
    wv[0].val = 0;
    struct timespec abs;
    clock_gettime(CLOCK_MONOTONIC, &abs);
    abs.tv_nsec += 2000000;
    if (abs.tv_nsec >= 1000000000) { abs.tv_sec++; abs.tv_nsec -= 1000000000; }
    r = syscall(SYS_futex_waitv, wv, 2, 0, &abs, CLOCK_MONOTONIC);
    printf("futex_waitv timeout: %s\n", err(r < 0 ? -errno : r));
#endif
    return 0;
}
