/* Cross-modifying code, as a JIT does it: a writer thread generates code
 * that a runner thread then calls, while a third thread keeps calling code
 * on the page being written (its translated blocks are invalidated under
 * it). Then the W^X way: write with the page RW, mprotect it RX, run it in
 * another thread. argv[1]: versions (default 2000). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

typedef int (*fn_t)(void);
static uint8_t *code;  /* page 0: stable and hot functions; page 1: generated slots */
static uint8_t *wx;    /* a W^X page */
static int versions;
static atomic_int ready, acked, stop, wx_ready, wx_acked, old_started;
static long good, wx_good;

static void emit_const(uint8_t *p, int v) {
    p[0] = 0xb8; /* mov eax, imm32 */
    memcpy(p + 1, &v, 4);
    p[5] = 0xc3; /* ret */
}

static void *writer(void *arg) {
    (void)arg;
    for (int v = 1; v <= versions; v++) {
        emit_const(code + 4096 + (v % 8) * 64, v);
        /* The hot function's immediate: one 4-byte store into code that
         * the third thread is running. */
        __atomic_store_n((int *)(code + 64 + 4), v, __ATOMIC_RELAXED);
        atomic_store_explicit(&ready, v, memory_order_release);
        while (atomic_load_explicit(&acked, memory_order_acquire) != v) {
        }
    }
    return NULL;
}

static void *runner(void *arg) {
    (void)arg;
    for (int v = 1; v <= versions; v++) {
        while (atomic_load_explicit(&ready, memory_order_acquire) != v) {
        }
        fn_t f = (fn_t)(code + 4096 + (v % 8) * 64);
        good += f() == v;
        atomic_store_explicit(&acked, v, memory_order_release);
    }
    return NULL;
}

static void *old_blocks(void *arg) {
    (void)arg;
    fn_t stable = (fn_t)code, hot = (fn_t)(code + 64 + 3);
    long calls = 0, bad = 0, backwards = 0;
    int last = 0;
    while (!atomic_load(&stop)) {
        bad += stable() != 42;
        int h = hot();
        backwards += h < last || h > versions;
        last = h;
        calls++;
        atomic_store(&old_started, 1);
    }
    return (void *)(bad * 2 + (backwards != 0) + (calls > 0 ? 0 : 1000));
}

static void *wx_runner(void *arg) {
    (void)arg;
    for (int v = 1; v <= versions / 10; v++) {
        while (atomic_load_explicit(&wx_ready, memory_order_acquire) != v) {
        }
        wx_good += ((fn_t)(wx + (v % 4) * 16))() == v * 3;
        atomic_store_explicit(&wx_acked, v, memory_order_release);
    }
    return NULL;
}

int main(int argc, char **argv) {
    versions = argc > 1 ? atoi(argv[1]) : 2000;
    code = mmap(NULL, 8192, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    wx = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    emit_const(code, 42);
    /* hot: 3 bytes of padding (nop) so the immediate is 4-byte aligned. */
    memcpy(code + 64, "\x90\x90\x90", 3);
    emit_const(code + 64 + 3, 0);
    pthread_t w, r, o;
    pthread_create(&o, NULL, old_blocks, NULL);
    pthread_create(&r, NULL, runner, NULL);
    pthread_create(&w, NULL, writer, NULL);
    pthread_join(w, NULL);
    pthread_join(r, NULL);
    /* On a loaded machine the old-block thread may not have run yet. */
    while (!atomic_load(&old_started)) {
    }
    atomic_store(&stop, 1);
    void *ret;
    pthread_join(o, &ret);
    printf("generated versions run: %ld of %d\n", good, versions);
    printf("old-block thread: stable wrong %ld, hot out of order %ld, no calls %d\n", (long)ret / 2 % 500,
           (long)ret & 1, (long)ret >= 1000);
    printf("hot function now returns %d\n", ((fn_t)(code + 64 + 3))());

    pthread_t x;
    pthread_create(&x, NULL, wx_runner, NULL);
    for (int v = 1; v <= versions / 10; v++) {
        mprotect(wx, 4096, PROT_READ | PROT_WRITE);
        uint8_t *p = wx + (v % 4) * 16;
        p[0] = 0x8d; /* lea eax, [rdi + rdi*2] is not used: mov eax, imm */
        emit_const(p, v * 3);
        mprotect(wx, 4096, PROT_READ | PROT_EXEC);
        atomic_store_explicit(&wx_ready, v, memory_order_release);
        while (atomic_load_explicit(&wx_acked, memory_order_acquire) != v) {
        }
    }
    pthread_join(x, NULL);
    printf("W^X versions run: %ld of %d\n", wx_good, versions / 10);
    return 0;
}
