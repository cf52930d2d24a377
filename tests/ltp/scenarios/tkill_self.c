/* tkill to one's own thread id: delivered to this thread with SI_TKILL and
 * si_pid our pid; errors: bad signal EINVAL, tid 0 or negative EINVAL, a
 * dead tid ESRCH. */
// tst: static
#include "tst.h"

int main(void)
{
	tst_sigaction(SIGUSR1, tst_handler, 0);
	TST_EXP_OK(syscall(SYS_tkill, tst_gettid(), SIGUSR1));
	TST_EXP_EQ(tst_sig_count[SIGUSR1], 1, "deliveries");
	TST_EXP_EQ(tst_sig_info[SIGUSR1].si_code, SI_TKILL, "si_code");
	TST_CHECK(tst_sig_info[SIGUSR1].si_pid == getpid(), "si_pid");
	TST_EXP_FAIL(syscall(SYS_tkill, tst_gettid(), 65), EINVAL);
	TST_EXP_FAIL(syscall(SYS_tkill, 0, SIGUSR1), EINVAL);
	TST_EXP_FAIL(syscall(SYS_tkill, -1, SIGUSR1), EINVAL);
	pid_t pid = tst_fork();
	if (pid == 0)
		_exit(0);
	tst_waitpid(pid, 0);
	TST_EXP_FAIL(syscall(SYS_tkill, pid, SIGUSR1), ESRCH);
	return tst_exit();
}
