/* exit_group while other threads are blocked in read, futex wait,
 * nanosleep and a busy loop: the process ends at once with the status
 * given (argv[1]: "exit" from main, "thread" from another thread,
 * "signal": main faults, and SIGSEGV's default action ends it). */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int pipefd[2];
static int futex_word;
static volatile int started;

static void *in_read(void *a) {
    (void)a;
    char b;
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    read(pipefd[0], &b, 1);
    printf("read returned\n");
    return NULL;
}
static void *in_futex(void *a) {
    (void)a;
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, &futex_word, FUTEX_WAIT, 0, NULL, NULL, 0);
    printf("futex returned\n");
    return NULL;
}
static void *in_sleep(void *a) {
    (void)a;
    struct timespec ts = {100, 0};
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    nanosleep(&ts, NULL);
    printf("sleep returned\n");
    return NULL;
}
static void *spinning(void *a) {
    (void)a;
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    for (volatile unsigned long i = 0;; i++) {
    }
    return NULL;
}
static void *exiter(void *a) {
    (void)a;
    usleep(100000);
    printf("thread calls exit(7)\n");
    fflush(stdout);
    exit(7);
}

int main(int argc, char **argv) {
    pipe(pipefd);
    void *(*fns[])(void *) = {in_read, in_futex, in_sleep, spinning};
    pthread_t t;
    for (int i = 0; i < 4; i++)
        pthread_create(&t, NULL, fns[i], NULL);
    while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < 4)
        usleep(1000);
    usleep(50000);
    if (argc > 1 && strcmp(argv[1], "thread") == 0) {
        pthread_create(&t, NULL, exiter, NULL);
        pthread_join(t, NULL);
        return 1;
    }
    if (argc > 1 && strcmp(argv[1], "signal") == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        printf("main stores through a null pointer\n");
        fflush(stdout);
        *(volatile int *)0 = 1;
    }
    printf("main calls exit(3)\n");
    fflush(stdout);
    exit(3);
}
