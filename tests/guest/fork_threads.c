/* fork from a multithreaded program: while worker threads hammer malloc,
 * stdio and a mutex, the main thread forks children that themselves
 * malloc, print, create a thread and fork again. Each child has one
 * thread; nothing deadlocks; every child's status and every total is
 * exact. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORKERS 4
#define FORKS 100

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int stop;
static long counter;

static void *worker(void *arg) {
    long n = 0;
    (void)arg;
    while (!stop) {
        char *p = malloc(64 + (n % 512));
        memset(p, (int)n, 64);
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
        free(p);
        n++;
    }
    return NULL;
}

static void *child_thread(void *arg) {
    return (void *)((long)arg * 2);
}

/* Runs in a forked child: the parent's workers do not exist here. */
static int child(int i) {
    /* (`lock` may have been held by a worker at the fork: it stays held.
       malloc and stdio are reset by the C library.) */
    char *buf = malloc(100000);
    snprintf(buf, 100000, "child %d", i);
    pthread_t t;
    void *ret;
    if (pthread_create(&t, NULL, child_thread, (void *)(long)i) != 0 || pthread_join(t, &ret) != 0)
        return 101;
    if ((long)ret != 2L * i)
        return 102;
    pid_t g = fork();
    if (g == 0)
        _exit(i % 50);
    int st;
    if (waitpid(g, &st, 0) != g || WEXITSTATUS(st) != i % 50)
        return 103;
    free(buf);
    return i % 100;
}

int main(void) {
    pthread_t w[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        pthread_create(&w[i], NULL, worker, NULL);
    int ok = 0;
    for (int i = 0; i < FORKS; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(child(i));
        int st;
        ok += waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == i % 100;
    }
    stop = 1;
    for (int i = 0; i < WORKERS; i++)
        pthread_join(w[i], NULL);
    printf("forks from a multithreaded parent: %d of %d ok, counter positive: %d\n", ok, FORKS, counter > 0);
    return 0;
}
