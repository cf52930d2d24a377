/* vdso.c - calls that glibc routes through the host vDSO (clock_gettime,
 * gettimeofday, time, getcpu). The vDSO is code the kernel built for the
 * host CPU (it may use RDPID, which the guest CPU model lacks); it must run
 * anyway. Only properties of the results are printed. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

int main(void) {
  struct timespec a, b, r;
  clock_gettime(CLOCK_MONOTONIC, &a);
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("monotonic ordered %d\n", b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec));
  printf("realtime ok %d\n", clock_gettime(CLOCK_REALTIME, &r) == 0 && r.tv_sec > 1600000000);
  printf("resolution ok %d\n", clock_getres(CLOCK_MONOTONIC, &r) == 0 && r.tv_sec == 0);
  struct timeval tv;
  printf("gettimeofday ok %d\n", gettimeofday(&tv, NULL) == 0 && tv.tv_usec < 1000000);
  printf("time ok %d\n", time(NULL) > 1600000000);
  printf("sched_getcpu ok %d\n", sched_getcpu() >= 0);
  unsigned cpu = 99, node = 99;
  printf("getcpu ok %d\n", getcpu(&cpu, &node) == 0 && cpu != 99);
  return 0;
}
