/* clock_nanosleep (relative) interrupted by a handler: EINTR as the return
 * value, the remaining time in rem; an ignored signal interrupts nothing. */
#include "tst.h"

int main(void)
{
	struct timespec req = { 0, 150000000 }, rem = { 0, 0 };
	struct itimerval it = { { 0, 0 }, { 0, 20000 } };
	tst_sigaction(SIGALRM, tst_handler, SA_RESTART);
	setitimer(ITIMER_REAL, &it, NULL);
	TST_EXP_EQ(clock_nanosleep(CLOCK_REALTIME, 0, &req, &rem), EINTR, "interrupted by SIGALRM");
	long left = rem.tv_sec * 1000000000L + rem.tv_nsec;
	TST_CHECK(left > 0 && left < 150000000, "rem is within (0, req)");
	tst_signal(SIGALRM, SIG_IGN);
	setitimer(ITIMER_REAL, &it, NULL);
	req.tv_nsec = 60000000;
	TST_EXP_EQ(clock_nanosleep(CLOCK_REALTIME, 0, &req, &rem), 0, "an ignored SIGALRM interrupts nothing");
	return tst_exit();
}
