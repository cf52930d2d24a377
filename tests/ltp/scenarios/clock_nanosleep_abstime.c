/* clock_nanosleep with TIMER_ABSTIME: a deadline in the past returns at
 * once; a future one is slept until; interrupted by a handler it returns
 * EINTR and leaves rem alone; calling again with the same deadline ends
 * on time. */
#include "tst.h"

static long ns(const struct timespec *t) { return t->tv_sec * 1000000000L + t->tv_nsec; }

int main(void)
{
	struct timespec now, dl, rem = { 12, 34 };
	tst_sigaction(SIGALRM, tst_handler, 0);
	clock_gettime(CLOCK_MONOTONIC, &now);
	dl = now;
	dl.tv_sec -= 1;
	TST_EXP_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &dl, NULL), 0, "a past deadline");
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_nsec += 150000000;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_nsec -= 1000000000L;
		dl.tv_sec++;
	}
	struct itimerval it = { { 0, 0 }, { 0, 30000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	TST_EXP_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &dl, &rem), EINTR, "interrupted");
	TST_CHECK(rem.tv_sec == 12 && rem.tv_nsec == 34, "rem is not written for an absolute sleep");
	TST_EXP_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &dl, NULL), 0, "the same deadline again");
	clock_gettime(CLOCK_MONOTONIC, &now);
	TST_CHECK(ns(&now) >= ns(&dl), "woke at or after the deadline");
	return tst_exit();
}
