/* timer_settime with TIMER_ABSTIME: a time in the past fires at once; a
 * future absolute time fires then; the old value is returned. Bad inputs:
 * EINVAL for nanoseconds out of range, an unknown clock, a deleted timer. */
#include "tst.h"

int main(void)
{
	timer_t t;
	struct sigevent sev;
	struct itimerspec its = { { 0, 0 }, { 0, 0 } }, old, bad = { { 0, 0 }, { 0, 1000000000L } };
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR1;
	tst_sigaction(SIGUSR1, tst_handler, 0);
	TST_EXP_FAIL(timer_create(99, &sev, &t), EINVAL);
	SAFE(timer_create(CLOCK_MONOTONIC, &sev, &t));
	its.it_value.tv_sec = 1;
	SAFE(timer_settime(t, TIMER_ABSTIME, &its, NULL));
	TST_CHECK(tst_wait_flag(&tst_sig_count[SIGUSR1], 1000), "an absolute time in the past fires at once");
	clock_gettime(CLOCK_MONOTONIC, &its.it_value);
	its.it_value.tv_sec += 100;
	SAFE(timer_settime(t, TIMER_ABSTIME, &its, NULL));
	struct itimerspec zero = { { 0, 0 }, { 0, 0 } };
	SAFE(timer_settime(t, 0, &zero, &old));
	TST_CHECK(old.it_value.tv_sec >= 98 && old.it_value.tv_sec <= 100, "the old value is relative time left");
	TST_EXP_FAIL(timer_settime(t, 0, &bad, NULL), EINVAL);
	SAFE(timer_delete(t));
	TST_EXP_FAIL(timer_settime(t, 0, &its, NULL), EINVAL);
	TST_EXP_FAIL(timer_delete(t), EINVAL);
	return tst_exit();
}
