/* Hot loops that only a signal or another thread ends: a thread looping
 * inside a trace must still take asynchronous signals, and loads must not
 * be hoisted out of a spin loop that another thread's store ends (x86
 * memory ordering: message passing). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

static volatile int stop;
static void on_alarm(int sig) { (void)sig; stop = 1; }

/* Not volatile on purpose: a compiler that kept `flag` in a register would
 * spin forever; the guest binary reloads it (the asm barrier), so must tern. */
static int flag, data[64];
static long rounds_seen;

static void *producer(void *arg) {
    (void)arg;
    for (int r = 1; r <= 2000; r++) {
        while (__atomic_load_n(&flag, __ATOMIC_ACQUIRE) != 0) __asm__ volatile("" ::: "memory");
        for (int i = 0; i < 64; i++) data[i] = r * 64 + i;
        __atomic_store_n(&flag, r, __ATOMIC_RELEASE);
    }
    return 0;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, 0);
    struct itimerval it = {{0, 0}, {0, 100000}};
    setitimer(ITIMER_REAL, &it, 0);
    unsigned long spins = 0;
    while (!stop) spins++;
    printf("alarm ended the loop: %s\n", spins > 0 ? "yes" : "no");

    pthread_t t;
    pthread_create(&t, 0, producer, 0);
    long bad = 0;
    for (int r = 1; r <= 2000; r++) {
        int f;
        while ((f = __atomic_load_n(&flag, __ATOMIC_ACQUIRE)) == 0) __asm__ volatile("" ::: "memory");
        for (int i = 0; i < 64; i++) bad += data[i] != f * 64 + i;
        rounds_seen++;
        __atomic_store_n(&flag, 0, __ATOMIC_RELEASE);
    }
    pthread_join(t, 0);
    printf("rounds %ld, stale reads %ld\n", rounds_seen, bad);
    return 0;
}
