/* tsan_race.c - a data race for ThreadSanitizer (gcc -fsanitize=thread),
 * run natively and under tern (real_programs.rs). TSan reserves every gap
 * of its memory layout with PROT_NONE MAP_FIXED mappings, one of them
 * across tern's own memory region. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

int x;

static void *set(void *arg) {
  x = 1;
  return arg;
}

int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, set, NULL);
  /* The thread's write comes first (no synchronisation: a race), so the
   * report names the same two accesses in every run. */
  usleep(200000);
  int seen = x;
  pthread_join(t, NULL);
  x += seen;
  printf("x %d\n", x);
  return 0;
}
