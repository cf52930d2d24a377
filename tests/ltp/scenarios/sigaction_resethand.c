/* sigaction SA_RESETHAND: the first delivery resets the action to SIG_DFL
 * (the flags stay), so the second one terminates the process. */
#include "tst.h"

int main(void)
{
	pid_t pid = tst_fork();
	if (pid == 0) {
		tst_sigaction(SIGUSR1, tst_handler, SA_RESETHAND);
		raise(SIGUSR1);
		TST_EXP_EQ(tst_sig_count[SIGUSR1], 1, "first delivery runs the handler");
		struct sigaction old;
		sigaction(SIGUSR1, NULL, &old);
		TST_CHECK(old.sa_handler == SIG_DFL, "action is SIG_DFL after delivery");
		TST_CHECK(old.sa_flags & SA_SIGINFO, "flags kept: only the handler is reset");
		raise(SIGUSR1);
		tst_res(TFAIL, "second SIGUSR1 did not terminate");
		tst_child_exit();
	}
	int st = tst_waitpid(pid, 0);
	TST_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1, "child %s, want killed by SIGUSR1", tst_strstatus(st));
	return tst_exit();
}
