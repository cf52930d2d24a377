/* timer_create with SIGEV_SIGNAL: the signal arrives with si_code SI_TIMER,
 * the sigev_value, and si_timerid/si_overrun; a periodic timer repeats;
 * timer_gettime shows the interval. A NULL sigevent means SIGALRM. */
// tst: static
#include "tst.h"

int main(void)
{
	timer_t t;
	struct sigevent sev;
	struct itimerspec its = { { 0, 5000000 }, { 0, 5000000 } }, cur, off = { { 0, 0 }, { 0, 0 } };
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGRTMIN + 1;
	sev.sigev_value.sival_int = 31337;
	tst_sigaction(SIGRTMIN + 1, tst_handler, SA_RESTART);
	SAFE(timer_create(CLOCK_MONOTONIC, &sev, &t));
	SAFE(timer_settime(t, 0, &its, NULL));
	while (tst_sig_count[SIGRTMIN + 1] < 3)
		pause();
	SAFE(timer_gettime(t, &cur));
	TST_CHECK(cur.it_interval.tv_nsec == 5000000 && cur.it_value.tv_nsec <= 5000000, "timer_gettime: interval, value");
	SAFE(timer_settime(t, 0, &off, NULL));
	siginfo_t *si = &tst_sig_info[SIGRTMIN + 1];
	TST_EXP_EQ(si->si_code, SI_TIMER, "si_code SI_TIMER");
	TST_EXP_EQ(si->si_value.sival_int, 31337, "si_value is sigev_value");
	TST_CHECK(si->si_overrun >= 0, "si_overrun is set");
	SAFE(timer_delete(t));

	timer_t t2;
	tst_sigaction(SIGALRM, tst_handler, 0);
	SAFE(timer_create(CLOCK_REALTIME, NULL, &t2));
	struct itimerspec once = { { 0, 0 }, { 0, 1000000 } };
	SAFE(timer_settime(t2, 0, &once, NULL));
	TST_CHECK(tst_wait_flag(&tst_sig_count[SIGALRM], 5000), "a NULL sigevent sends SIGALRM");
	TST_EXP_EQ(tst_sig_info[SIGALRM].si_code, SI_TIMER, "si_code SI_TIMER");
	SAFE(timer_delete(t2));
	return tst_exit();
}
