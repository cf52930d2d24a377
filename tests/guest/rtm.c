/* Restricted transactional memory (RTM), as a program that uses it must
 * be written: every transaction may abort, for any reason, and the code
 * after an abort is the fallback. The output is what does not depend on
 * whether a transaction commits (natively some do, under tern none):
 * whether CPUID reports RTM, the exact totals of counters updated by four
 * threads through transactions with a spin-lock fallback, the abort
 * status's shape after an explicit `xabort`, and what `xtest`, `xabort`
 * and `xend` do outside a transaction (ZF=1; nothing; #GP, SIGSEGV with
 * si_code SI_KERNEL). Also the registers and flags an aborted `xbegin`
 * leaves: rax's upper half cleared, the rest as before. */
#define _GNU_SOURCE
#include <cpuid.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define THREADS 4
#define ROUNDS 20000

static int lock;
static volatile long counters[4];

static int rtm_reported(void) {
    unsigned a, b, c, d;
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b >> 11 & 1);
}

/* xbegin: ~0u when the transaction started, else the abort status. */
static unsigned xbegin(void) {
    unsigned status = ~0u;
    __asm__ volatile("xbegin 1f\n1:" : "+a"(status)::"memory");
    return status;
}

static void xend(void) { __asm__ volatile("xend" ::: "memory"); }

static void spin_lock(void) {
    while (__atomic_exchange_n(&lock, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&lock, __ATOMIC_RELAXED))
            __builtin_ia32_pause();
}

static void spin_unlock(void) { __atomic_store_n(&lock, 0, __ATOMIC_RELEASE); }

/* Lock elision: the lock word is read inside the transaction (so a
 * holder aborts it); a held lock is an explicit abort; after three
 * aborts the lock is taken. */
static void *worker(void *arg) {
    long id = (long)arg;
    for (int i = 0; i < ROUNDS; i++) {
        int done = 0;
        for (int tries = 0; tries < 3 && !done; tries++) {
            if (xbegin() == ~0u) {
                if (__atomic_load_n(&lock, __ATOMIC_RELAXED))
                    __asm__ volatile("xabort $0xff" ::: "memory");
                counters[i % 4] += 1;
                counters[id] += 2;
                xend();
                done = 1;
            }
        }
        if (!done) {
            spin_lock();
            counters[i % 4] += 1;
            counters[id] += 2;
            spin_unlock();
        }
    }
    return NULL;
}

static sigjmp_buf back;
static volatile int seen_code;

static void on_segv(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    seen_code = si->si_code;
    siglongjmp(back, 1);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    int rtm = rtm_reported();
    printf("rtm reported: %s\n", rtm ? "yes" : "no");
    if (!rtm)
        return 0;

    /* An explicit abort's status: bit 0 (XABORT) and the code in bits
     * 31:24, or an abort for another reason before it ran (bit 0 clear);
     * which one is not printed. */
    unsigned s = xbegin();
    if (s == ~0u)
        __asm__ volatile("xabort $0x5a" ::: "memory");
    printf("status after xabort: %s\n",
           ((s & 1) && s >> 24 == 0x5a) || (s & 1) == 0 ? "explicit abort or other abort" : "malformed");

    /* Registers and flags across an aborted transaction: an immediate
     * xabort rolls everything back but rax, whose upper half is cleared. */
    uint64_t rax = 0x123456789abcdef0, rbx = 0x1111, flags_before, flags_after;
    __asm__ volatile("stc\n"
                     "pushfq\n"
                     "popq %[fb]\n"
                     "xbegin 1f\n"
                     "movq $0x2222, %[b]\n"
                     "xabort $0x11\n"
                     "1:\n"
                     "pushfq\n"
                     "popq %[fa]\n"
                     : "+a"(rax), [b] "+r"(rbx), [fb] "=&r"(flags_before), [fa] "=&r"(flags_after)::"memory",
                       "cc");
    printf("after an aborted xbegin: rax upper half %#llx, rbx %#llx, flags kept %s\n",
           (unsigned long long)(rax >> 32), (unsigned long long)rbx,
           (flags_before & 0xcd5) == (flags_after & 0xcd5) ? "yes" : "no");

    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    long total = 0;
    for (int i = 0; i < 4; i++) {
        printf("counter %d: %ld\n", i, counters[i]);
        total += counters[i];
    }
    printf("total %ld (expected %ld)\n", total, 3L * THREADS * ROUNDS);

    /* Outside a transaction. */
    unsigned char zf;
    __asm__ volatile("xtest\n"
                     "setz %0"
                     : "=r"(zf)::"cc");
    printf("xtest outside a transaction: ZF=%d\n", zf);
    __asm__ volatile("xabort $1" ::: "memory");
    printf("xabort outside a transaction: no effect\n");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    if (sigsetjmp(back, 1) == 0) {
        xend();
        printf("xend outside a transaction: returned\n");
    } else {
        printf("xend outside a transaction: SIGSEGV si_code %d\n", seen_code);
    }
    return 0;
}
