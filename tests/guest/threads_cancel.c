/* pthread_cancel at cancellation points (read, nanosleep, pthread_testcancel)
 * and with asynchronous cancellation disabled then enabled. glibc cancels
 * with signal 32 (SIGCANCEL): under tern this needs guest signal delivery. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int p[2];
static volatile int cleanups;

static void cleanup(void *arg) { cleanups += (int)(long)arg; }

static void *in_read(void *arg) {
    (void)arg;
    char b;
    pthread_cleanup_push(cleanup, (void *)1);
    read(p[0], &b, 1);
    pthread_cleanup_pop(0);
    return NULL;
}

static void *in_sleep(void *arg) {
    (void)arg;
    struct timespec ts = {100, 0};
    pthread_cleanup_push(cleanup, (void *)10);
    nanosleep(&ts, NULL);
    pthread_cleanup_pop(0);
    return NULL;
}

static void *disabled(void *arg) {
    (void)arg;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    usleep(50000);
    pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
    pthread_cleanup_push(cleanup, (void *)100);
    pthread_testcancel();
    pthread_cleanup_pop(0);
    return (void *)7;
}

int main(void) {
    pipe(p);
    void *(*fns[])(void *) = {in_read, in_sleep, disabled};
    for (int i = 0; i < 3; i++) {
        pthread_t t;
        pthread_create(&t, NULL, fns[i], NULL);
        usleep(20000);
        pthread_cancel(t);
        void *r;
        pthread_join(t, &r);
        printf("thread %d: %s\n", i, r == PTHREAD_CANCELED ? "canceled" : "returned");
    }
    printf("cleanups %d\n", cleanups);
    return 0;
}
