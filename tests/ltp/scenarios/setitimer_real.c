/* setitimer(ITIMER_REAL) with it_interval: SIGALRM repeats; getitimer shows
 * the interval and a value no larger than it; setitimer returns the old
 * setting; a zero value disarms. */
// tst: static
#include "tst.h"

int main(void)
{
	struct itimerval it = { { 0, 10000 }, { 0, 10000 } }, old, cur;
	tst_sigaction(SIGALRM, tst_handler, SA_RESTART);
	SAFE(setitimer(ITIMER_REAL, &it, NULL));
	while (tst_sig_count[SIGALRM] < 3)
		pause();
	SAFE(getitimer(ITIMER_REAL, &cur));
	TST_CHECK(cur.it_interval.tv_sec == 0 && cur.it_interval.tv_usec == 10000, "getitimer: the interval");
	TST_CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_usec <= 10000, "getitimer: value within the interval");
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	SAFE(setitimer(ITIMER_REAL, &off, &old));
	TST_CHECK(old.it_interval.tv_usec == 10000, "setitimer returns the old interval");
	int n = tst_sig_count[SIGALRM];
	tst_sleep_ms(30);
	/* n itself depends on timing (one more period may end before the
	 * disarming call), natively too: only the equality is printed. */
	TST_CHECK(tst_sig_count[SIGALRM] == n, "disarmed: no more SIGALRM");
	TST_EXP_EQ(tst_sig_info[SIGALRM].si_code, SI_KERNEL, "si_code");
	SAFE(getitimer(ITIMER_REAL, &cur));
	TST_CHECK(!cur.it_value.tv_sec && !cur.it_value.tv_usec, "getitimer: disarmed");
	return tst_exit();
}
