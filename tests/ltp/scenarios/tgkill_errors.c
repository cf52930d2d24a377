/* tgkill: a tid that is not in the given thread group is ESRCH, a bad
 * signal or non-positive ids EINVAL, signal 0 checks only. */
#include "tst.h"

int main(void)
{
	pid_t me = getpid(), tid = tst_gettid();
	TST_EXP_OK(syscall(SYS_tgkill, me, tid, 0));
	TST_EXP_FAIL(syscall(SYS_tgkill, me, tid, -1), EINVAL);
	TST_EXP_FAIL(syscall(SYS_tgkill, me, tid, 65), EINVAL);
	TST_EXP_FAIL(syscall(SYS_tgkill, 0, tid, SIGUSR1), EINVAL);
	TST_EXP_FAIL(syscall(SYS_tgkill, me, 0, SIGUSR1), EINVAL);
	TST_EXP_FAIL(syscall(SYS_tgkill, -1, tid, SIGUSR1), EINVAL);
	pid_t pid = tst_fork();
	if (pid == 0) {
		for (;;)
			pause();
	}
	TST_EXP_FAIL(syscall(SYS_tgkill, me, pid, SIGUSR1), ESRCH);
	TST_EXP_FAIL(syscall(SYS_tgkill, pid, tid, SIGUSR1), ESRCH);
	SAFE(syscall(SYS_tgkill, pid, pid, SIGKILL));
	int st = tst_waitpid(pid, 0);
	TST_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "tgkill to another process: %s", tst_strstatus(st));
	return tst_exit();
}
