/* SIGEV_NONE: the timer runs (timer_gettime shows it counting down and
 * expiring) but no signal is sent. */
#include "tst.h"

int main(void)
{
	timer_t t;
	struct sigevent sev;
	struct itimerspec its = { { 0, 0 }, { 0, 20000000 } }, cur;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_NONE;
	sev.sigev_signo = SIGUSR1;
	tst_sigaction(SIGUSR1, tst_handler, 0);
	SAFE(timer_create(CLOCK_MONOTONIC, &sev, &t));
	SAFE(timer_settime(t, 0, &its, NULL));
	SAFE(timer_gettime(t, &cur));
	TST_CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 20000000, "armed and counting");
	tst_sleep_ms(40);
	SAFE(timer_gettime(t, &cur));
	TST_CHECK(!cur.it_value.tv_sec && !cur.it_value.tv_nsec, "expired");
	TST_EXP_EQ(tst_sig_count[SIGUSR1], 0, "no signal sent");
	SAFE(timer_delete(t));
	TST_EXP_FAIL(timer_gettime(t, &cur), EINVAL);
	return tst_exit();
}
