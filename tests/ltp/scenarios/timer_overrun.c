/* Timer overruns: a 1 ms periodic timer whose signal stays blocked for
 * 30 ms queues one signal; its si_overrun counts the lost expirations and
 * timer_getoverrun returns the same number. */
#include "tst.h"

int main(void)
{
	timer_t t;
	struct sigevent sev;
	sigset_t set;
	siginfo_t si;
	struct itimerspec its = { { 0, 1000000 }, { 0, 1000000 } }, off = { { 0, 0 }, { 0, 0 } };
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &set, NULL);
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGRTMIN;
	sev.sigev_value.sival_int = 5;
	SAFE(timer_create(CLOCK_MONOTONIC, &sev, &t));
	SAFE(timer_settime(t, 0, &its, NULL));
	tst_sleep_ms(30);
	TST_EXP_EQ(sigwaitinfo(&set, &si), SIGRTMIN, "one signal queued for many expirations");
	int ov = timer_getoverrun(t);
	SAFE(timer_settime(t, 0, &off, NULL));
	TST_CHECK(si.si_overrun >= 10, "si_overrun counts the lost expirations");
	TST_CHECK(ov == si.si_overrun, "timer_getoverrun equals si_overrun");
	TST_EXP_EQ(si.si_value.sival_int, 5, "si_value");
	struct timespec zero = { 0, 0 };
	TST_EXP_FAIL(sigtimedwait(&set, &si, &zero), EAGAIN);
	return tst_exit();
}
