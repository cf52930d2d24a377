/* The main thread calls pthread_exit while other threads run on; the last
 * thread to finish ends the process (status 0 from glibc's exit). */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int main_gone, turn;

static void *worker(void *arg) {
    long id = (long)arg;
    /* Each prints once the main thread is gone, in id order. */
    pthread_mutex_lock(&m);
    while (!main_gone || turn != id)
        pthread_cond_wait(&c, &m);
    usleep(1000);
    printf("worker %ld done after main\n", id);
    fflush(stdout);
    turn++;
    pthread_cond_broadcast(&c);
    pthread_mutex_unlock(&m);
    return NULL;
}

static void *marker(void *arg) {
    pthread_t main_thread = *(pthread_t *)arg;
    /* Joining the main thread works once it has exited. */
    int r = pthread_join(main_thread, NULL);
    pthread_mutex_lock(&m);
    printf("joined main: %d\n", r);
    fflush(stdout);
    main_gone = 1;
    pthread_cond_broadcast(&c);
    pthread_mutex_unlock(&m);
    return NULL;
}

int main(void) {
    static pthread_t self;
    self = pthread_self();
    pthread_t t[4];
    for (long i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    pthread_create(&t[3], NULL, marker, &self);
    printf("main exits first\n");
    fflush(stdout);
    pthread_exit(NULL);
}
