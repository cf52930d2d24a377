/* The main thread calls pthread_exit while other threads run on; the last
 * thread to finish ends the process (status 0 from glibc's exit). */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int main_gone;

static void *worker(void *arg) {
    long id = (long)arg;
    pthread_mutex_lock(&m);
    while (!main_gone)
        pthread_cond_wait(&c, &m);
    pthread_mutex_unlock(&m);
    usleep(10000 * (id + 1));
    printf("worker %ld done after main\n", id);
    fflush(stdout);
    return NULL;
}

static void *marker(void *arg) {
    pthread_t main_thread = *(pthread_t *)arg;
    /* Joining the main thread works once it has exited. */
    int r = pthread_join(main_thread, NULL);
    pthread_mutex_lock(&m);
    main_gone = 1;
    pthread_cond_broadcast(&c);
    pthread_mutex_unlock(&m);
    printf("joined main: %d\n", r);
    fflush(stdout);
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
