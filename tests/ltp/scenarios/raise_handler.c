/* raise: the handler runs before raise returns, in the calling thread, with
 * SI_TKILL; raise returns 0. */
// tst: static
#include "tst.h"

static volatile int done_before_return;

static void h(int sig, siginfo_t *info, void *uc)
{
	tst_handler(sig, info, uc);
	done_before_return = 1;
}

int main(void)
{
	tst_sigaction(SIGINT, h, 0);
	int r = raise(SIGINT);
	int seen = done_before_return;
	TST_EXP_EQ(r, 0, "raise's result");
	TST_EXP_EQ(seen, 1, "handler ran before raise returned");
	TST_EXP_EQ(tst_sig_info[SIGINT].si_code, SI_TKILL, "si_code");
	TST_CHECK(tst_sig_tid[SIGINT] == tst_gettid(), "delivered to the calling thread");
	TST_EXP_FAIL(raise(65), EINVAL);
	return tst_exit();
}
