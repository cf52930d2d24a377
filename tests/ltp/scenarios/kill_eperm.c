/* kill: an unprivileged process may not signal another user's process
 * (EPERM), not even with signal 0; it may signal its own. */
#include "tst.h"

int main(void)
{
	if (geteuid() != 0)
		tst_brk(TCONF, "needs root to make a process of another user");
	pid_t victim = tst_fork();
	if (victim == 0) {
		for (;;)
			pause();
	}
	pid_t pid = tst_fork();
	if (pid == 0) {
		if (setresuid(65534, 65534, 65534) == -1)
			tst_brk(TBROK, "setresuid: %s", tst_errname(errno));
		TST_EXP_FAIL(kill(victim, SIGKILL), EPERM);
		TST_EXP_FAIL(kill(victim, 0), EPERM);
		TST_EXP_FAIL(kill(1, SIGUSR1), EPERM);
		TST_EXP_OK(kill(getpid(), 0));
		tst_child_exit();
	}
	tst_reap(pid);
	SAFE(kill(victim, SIGKILL));
	tst_waitpid(victim, 0);
	return tst_exit();
}
