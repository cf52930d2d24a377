/* exit_code.c - returning 3 from main: the exit status must come through,
 * and stdio buffers are flushed by exit. */
#include <stdio.h>

int main(void) {
  printf("returning 3 from main\n");
  fprintf(stderr, "a line on stderr\n");
  return 3;
}
