/* kill: an invalid signal number is EINVAL, a missing pid ESRCH, signal 0
 * checks existence only. */
#include "tst.h"

int main(void)
{
	TST_EXP_FAIL(kill(getpid(), -1), EINVAL);
	TST_EXP_FAIL(kill(getpid(), 65), EINVAL);
	TST_EXP_FAIL(kill(getpid(), 1000), EINVAL);
	TST_EXP_OK(kill(getpid(), 0));
	pid_t pid = tst_fork();
	if (pid == 0)
		_exit(0);
	tst_waitpid(pid, 0);
	TST_EXP_FAIL(kill(pid, 0), ESRCH);
	TST_EXP_FAIL(kill(pid, SIGKILL), ESRCH);
	return tst_exit();
}
