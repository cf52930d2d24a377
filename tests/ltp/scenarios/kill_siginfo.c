/* kill from another process: the receiver's SA_SIGINFO handler sees
 * si_code SI_USER, si_pid the sender, si_uid the sender's real uid. */
#include "tst.h"

int main(void)
{
	tst_sigaction(SIGUSR1, tst_handler, 0);
	tst_mask1(SIG_BLOCK, SIGUSR1);
	pid_t parent = getpid();
	pid_t pid = tst_fork();
	if (pid == 0) {
		kill(parent, SIGUSR1);
		_exit(0);
	}
	tst_waitpid(pid, 0);
	tst_mask1(SIG_UNBLOCK, SIGUSR1);
	TST_EXP_EQ(tst_sig_count[SIGUSR1], 1, "deliveries");
	TST_EXP_EQ(tst_sig_info[SIGUSR1].si_code, SI_USER, "si_code");
	TST_CHECK(tst_sig_info[SIGUSR1].si_pid == pid, "si_pid is the child");
	TST_CHECK(tst_sig_info[SIGUSR1].si_uid == getuid(), "si_uid");
	return tst_exit();
}
