/* alarm: SIGALRM arrives after the given seconds (pause returns EINTR for
 * it), alarm returns the seconds left of the previous alarm, alarm(0)
 * cancels. */
#include "tst.h"

int main(void)
{
	tst_sigaction(SIGALRM, tst_handler, 0);
	TST_EXP_EQ(alarm(100), 0, "no previous alarm");
	TST_EXP_EQ(alarm(1), 100, "the previous alarm's seconds are returned");
	TST_EXP_FAIL(pause(), EINTR);
	TST_EXP_EQ(tst_sig_count[SIGALRM], 1, "SIGALRM handled once");
	TST_EXP_EQ(tst_sig_info[SIGALRM].si_code, SI_KERNEL, "si_code SI_KERNEL");
	TST_EXP_EQ(alarm(0), 0, "the alarm is spent");
	alarm(30);
	TST_EXP_EQ(alarm(0), 30, "alarm(0) cancels and returns the time left");
	tst_sleep_ms(10);
	TST_EXP_EQ(tst_sig_count[SIGALRM], 1, "no SIGALRM after the cancel");
	return tst_exit();
}
