/* exit_underscore.c - _exit(42) ends the process at once: atexit handlers
 * do not run and unflushed stdio output is lost (stdout is a pipe here, so
 * it is fully buffered). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void handler(void) { printf("atexit handler ran (it should not)\n"); }

int main(void) {
  atexit(handler);
  printf("flushed before _exit\n");
  fflush(stdout);
  printf("still buffered at _exit, never written\n");
  _exit(42);
}
