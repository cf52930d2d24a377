/* sigsuspend with a signal already pending, blocked by the mask but not by
 * sigsuspend's: it returns at once with EINTR after the handler ran, and
 * the old mask is back. */
// tst: static
#include "tst.h"

int main(void)
{
	tst_sigaction(SIGUSR1, tst_handler, 0);
	tst_mask1(SIG_BLOCK, SIGUSR1);
	raise(SIGUSR1);
	sigset_t none;
	sigemptyset(&none);
	errno = 0;
	int r = sigsuspend(&none);
	TST_CHECK(r == -1 && errno == EINTR, "sigsuspend returns -1 EINTR (%s)", tst_errname(errno));
	TST_EXP_EQ(tst_sig_count[SIGUSR1], 1, "handler ran");
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	TST_CHECK(sigismember(&cur, SIGUSR1), "old mask restored");
	return tst_exit();
}
