/* sigqueue to oneself: SI_QUEUE, si_value (int and pointer), si_pid and
 * si_uid; to another process the same reaches its handler. */
// tst: static
#include "tst.h"

int main(void)
{
	tst_sigaction(SIGRTMIN + 4, tst_handler, 0);
	SAFE(sigqueue(getpid(), SIGRTMIN + 4, (union sigval){ .sival_int = 0x1234 }));
	siginfo_t *i = &tst_sig_info[SIGRTMIN + 4];
	TST_EXP_EQ(tst_sig_count[SIGRTMIN + 4], 1, "deliveries");
	TST_EXP_EQ(i->si_code, SI_QUEUE, "si_code");
	TST_EXP_EQ(i->si_value.sival_int, 0x1234, "si_value.sival_int");
	TST_CHECK(i->si_pid == getpid() && i->si_uid == getuid(), "si_pid, si_uid");
	static int target;
	SAFE(sigqueue(getpid(), SIGRTMIN + 4, (union sigval){ .sival_ptr = &target }));
	TST_CHECK(i->si_value.sival_ptr == &target, "si_value.sival_ptr");
	tst_mask1(SIG_BLOCK, SIGUSR1);
	tst_sigaction(SIGUSR1, tst_handler, 0);
	pid_t parent = getpid();
	pid_t pid = tst_fork();
	if (pid == 0) {
		sigqueue(parent, SIGUSR1, (union sigval){ .sival_int = -5 });
		_exit(0);
	}
	tst_waitpid(pid, 0);
	tst_mask1(SIG_UNBLOCK, SIGUSR1);
	TST_EXP_EQ(tst_sig_info[SIGUSR1].si_code, SI_QUEUE, "from the child: si_code");
	TST_EXP_EQ(tst_sig_info[SIGUSR1].si_value.sival_int, -5, "from the child: si_value");
	TST_CHECK(tst_sig_info[SIGUSR1].si_pid == pid, "from the child: si_pid");
	return tst_exit();
}
