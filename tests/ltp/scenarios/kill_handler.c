/* kill: a signal sent to oneself with a handler installed runs the handler
 * before kill returns, with si_code SI_USER and si_pid/si_uid our own. */
// tst: static
#include "tst.h"

int main(void)
{
	tst_sigaction(SIGUSR1, tst_handler, 0);
	SAFE(kill(getpid(), SIGUSR1));
	TST_EXP_EQ(tst_sig_count[SIGUSR1], 1, "handler runs");
	TST_EXP_EQ(tst_sig_info[SIGUSR1].si_code, SI_USER, "si_code");
	TST_CHECK(tst_sig_info[SIGUSR1].si_pid == getpid(), "si_pid is the sender");
	TST_CHECK(tst_sig_info[SIGUSR1].si_uid == getuid(), "si_uid is the sender's uid");
	return tst_exit();
}
