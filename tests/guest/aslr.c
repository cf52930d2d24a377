/* aslr.c - address-space layout randomisation as the kernel does it for a
 * new program: a PIE's load address and the program break move from one
 * exec to the next (a static non-PIE program's break only), and nothing
 * moves under the personality ADDR_NO_RANDOMIZE (`setarch -R`, gdb).
 * The program execs itself (argv[0]) four times and compares what the
 * children print: &main and sbrk(0). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/wait.h>
#include <unistd.h>

static void child_layout(const char *self, int fixed, unsigned long out[2]) {
  int fd[2];
  if (pipe(fd) != 0)
    exit(2);
  pid_t c = fork();
  if (c == 0) {
    if (fixed)
      personality(personality(0xffffffff) | ADDR_NO_RANDOMIZE);
    dup2(fd[1], 1);
    execl(self, self, "child", (char *)NULL);
    _exit(127);
  }
  close(fd[1]);
  char buf[128] = {0};
  ssize_t n = read(fd[0], buf, sizeof buf - 1);
  close(fd[0]);
  waitpid(c, NULL, 0);
  if (n <= 0 || sscanf(buf, "%lx %lx", &out[0], &out[1]) != 2)
    out[0] = out[1] = 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "child") == 0) {
    printf("%lx %lx\n", (unsigned long)&main, (unsigned long)sbrk(0));
    return 0;
  }
  unsigned long a[2], b[2], c[2], d[2];
  child_layout(argv[0], 0, a);
  child_layout(argv[0], 0, b);
  child_layout(argv[0], 1, c);
  child_layout(argv[0], 1, d);
  printf("children ran: %s\n", a[0] && b[0] && c[0] && d[0] ? "yes" : "no");
  printf("program moves: %s\n", a[0] != b[0] ? "yes" : "no");
  printf("break moves: %s\n", a[1] != b[1] ? "yes" : "no");
  printf("break above program: %s\n", a[1] > a[0] ? "yes" : "no");
  printf("fixed without randomisation: %s\n", c[0] == d[0] && c[1] == d[1] ? "yes" : "no");
  return 0;
}
