/* sigpending: a blocked signal that was sent shows as pending and its
 * handler does not run; unblocking delivers it before sigprocmask returns
 * and clears it from the pending set. */
// tst: static
#include "tst.h"

int main(void)
{
	tst_sigaction(SIGUSR1, tst_handler, 0);
	tst_mask1(SIG_BLOCK, SIGUSR1);
	sigset_t p;
	sigpending(&p);
	TST_CHECK(!sigismember(&p, SIGUSR1), "nothing pending before");
	raise(SIGUSR1);
	sigpending(&p);
	TST_CHECK(sigismember(&p, SIGUSR1), "blocked signal pending");
	TST_EXP_EQ(tst_sig_count[SIGUSR1], 0, "deliveries while blocked");
	tst_mask1(SIG_UNBLOCK, SIGUSR1);
	TST_EXP_EQ(tst_sig_count[SIGUSR1], 1, "deliveries when unblocked");
	sigpending(&p);
	TST_CHECK(!sigismember(&p, SIGUSR1), "no longer pending");
	return tst_exit();
}
