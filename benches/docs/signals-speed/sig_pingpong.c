/* Thread-to-thread signal ping-pong: A sends SIGUSR1 to B, B's handler runs,
   B sends SIGUSR2 to A, A's handler runs; N round trips. Each thread waits
   in sigsuspend with its signal unblocked. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
static volatile sig_atomic_t got1, got2;
static pthread_t ta, tb;
static long n;
static void h1(int s) { (void)s; got1 = 1; }
static void h2(int s) { (void)s; got2 = 1; }
static void *b_main(void *x) {
  (void)x;
  sigset_t wait; sigfillset(&wait); sigdelset(&wait, SIGUSR1);
  for (long i = 0; i < n; i++) {
    while (!got1) sigsuspend(&wait);
    got1 = 0;
    pthread_kill(ta, SIGUSR2);
  }
  return 0;
}
int main(int argc, char **argv) {
  n = argc > 1 ? atol(argv[1]) : 100000;
  struct sigaction sa = {0};
  sa.sa_handler = h1; sigaction(SIGUSR1, &sa, 0);
  sa.sa_handler = h2; sigaction(SIGUSR2, &sa, 0);
  sigset_t all; sigemptyset(&all); sigaddset(&all, SIGUSR1); sigaddset(&all, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &all, 0);
  ta = pthread_self();
  pthread_create(&tb, 0, b_main, 0);
  sigset_t wait; sigfillset(&wait); sigdelset(&wait, SIGUSR2);
  for (long i = 0; i < n; i++) {
    pthread_kill(tb, SIGUSR1);
    while (!got2) sigsuspend(&wait);
    got2 = 0;
  }
  pthread_join(tb, 0);
  printf("pingpong %ld\n", n);
  return 0;
}
