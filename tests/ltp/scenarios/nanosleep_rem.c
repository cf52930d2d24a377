/* nanosleep interrupted by a handler returns EINTR with the time left in
 * rem (a NULL rem is fine); sleeping again for rem ends the original
 * sleep on time. */
#include "tst.h"

static long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000L + t.tv_nsec;
}

int main(void)
{
	struct timespec req = { 0, 200000000 }, rem = { 0, 0 };
	tst_sigaction(SIGALRM, tst_handler, SA_RESTART);
	struct itimerval it = { { 0, 0 }, { 0, 30000 } };
	long t0 = now_ns();
	setitimer(ITIMER_REAL, &it, NULL);
	TST_EXP_FAIL(nanosleep(&req, &rem), EINTR);
	long slept = now_ns() - t0;
	long left = rem.tv_sec * 1000000000L + rem.tv_nsec;
	TST_CHECK(left > 0 && left < 200000000, "rem is within (0, req)");
	TST_CHECK(200000000 - left <= slept + 1000000, "rem agrees with the time slept");
	TST_EXP_OK(nanosleep(&rem, NULL));
	TST_CHECK(now_ns() - t0 >= 199000000, "sleeping for rem completes the request");
	setitimer(ITIMER_REAL, &it, NULL);
	TST_EXP_FAIL(nanosleep(&req, NULL), EINTR);
	return tst_exit();
}
