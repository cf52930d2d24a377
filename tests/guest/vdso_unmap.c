/* vdso_unmap.c - the guest unmaps its vDSO and vvar pages (valgrind does
 * at start-up), then goes on with threads, sleeps, a timer signal, fork
 * and mappings, without glibc's vDSO-backed calls (raw syscalls instead,
 * as natively those would now crash). Under tern the vDSO is the one its
 * own C library calls: it must stay usable to tern and look gone to the
 * guest. First they are reprotected as they are (allowed: they stay
 * usable). Prints the calls' results and what /proc/self/maps shows. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Counts the [vdso] and [vvar*] lines of /proc/self/maps; with `op` 1
 * reprotects each as it is, with 2 unmaps each, printing the results. */
static int special_maps(int op) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512], perms[8];
  unsigned long ranges[8][2];
  int prot[8];
  int n = 0;
  while (f && fgets(line, sizeof line, f) && n < 8) {
    if (strstr(line, "[vdso]") || strstr(line, "[vvar")) {
      sscanf(line, "%lx-%lx %7s", &ranges[n][0], &ranges[n][1], perms);
      prot[n] = (perms[0] == 'r' ? PROT_READ : 0) | (perms[2] == 'x' ? PROT_EXEC : 0);
      n++;
    }
  }
  if (f)
    fclose(f);
  for (int i = 0; op && i < n; i++) {
    void *a = (void *)ranges[i][0];
    size_t len = ranges[i][1] - ranges[i][0];
    if (op == 1)
      printf("mprotect %d\n", mprotect(a, len, prot[i]));
    else
      printf("munmap %d\n", munmap(a, len));
  }
  return n;
}

static long now_ns(void) {
  struct timespec t;
  syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000L + t.tv_nsec;
}

static volatile int ticks;
static void on_alarm(int sig) { (void)sig; ticks++; }

static void *worker(void *arg) {
  struct timespec d = {0, 1000000};
  syscall(SYS_nanosleep, &d, NULL);
  return arg;
}

int main(void) {
  unsigned long vdso = getauxval(AT_SYSINFO_EHDR);
  printf("vdso given %d\n", vdso != 0);
  printf("special maps reprotected %d\n", special_maps(1) > 0);
  printf("special maps before %d\n", special_maps(2) > 0);
  printf("special maps after %d\n", special_maps(0));
  /* Unmapping it again succeeds, as for any unmapped range. */
  printf("again %d\n", munmap((void *)vdso, 4096));

  long t0 = now_ns();
  pthread_t t[4];
  for (int i = 0; i < 4; i++)
    pthread_create(&t[i], NULL, worker, (void *)(long)i);
  long sum = 0;
  for (int i = 0; i < 4; i++) {
    void *r;
    pthread_join(t[i], &r);
    sum += (long)r;
  }
  printf("threads %ld\n", sum);

  signal(SIGALRM, on_alarm);
  struct itimerval it = {{0, 2000}, {0, 2000}};
  setitimer(ITIMER_REAL, &it, NULL);
  while (ticks < 5)
    pause();
  memset(&it, 0, sizeof it);
  setitimer(ITIMER_REAL, &it, NULL);
  printf("ticks %d\n", ticks >= 5);

  pid_t pid = fork();
  if (pid == 0)
    _exit(special_maps(0) + 7);
  int st;
  waitpid(pid, &st, 0);
  printf("child %d\n", WEXITSTATUS(st));

  void *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("mmap %d\n", m != MAP_FAILED);
  printf("elapsed %d\n", now_ns() > t0);
  return 0;
}
