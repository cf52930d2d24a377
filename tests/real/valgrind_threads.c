/* valgrind_threads.c - a threaded program with a heap overrun in a thread
 * and a branch on uninitialised memory in main, for valgrind's memcheck
 * run natively and under tern (real_programs.rs). valgrind unmaps the
 * vDSO at start-up and runs its guest threads on host threads of its own. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *overrun(void *arg) {
  int *p = malloc(10 * sizeof *p);
  p[10] = 1;
  return p;
}

int main(void) {
  pthread_t t;
  void *r;
  pthread_create(&t, NULL, overrun, NULL);
  pthread_join(t, &r);
  if (((int *)r)[3])
    printf("uninitialised\n");
  printf("done\n");
  return 0;
}
