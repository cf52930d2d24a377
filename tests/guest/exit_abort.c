/* exit_abort.c - abort() raises SIGABRT: the process dies by that signal
 * (tern must then die by the same signal). Core dumps are disabled first
 * so the test leaves no core file behind. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

int main(void) {
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  printf("about to abort\n");
  fflush(stdout);
  fprintf(stderr, "aborting now\n");
  abort();
}
