/* sysv_signal(): one-shot, not deferred: the handler is reset to SIG_DFL
 * on delivery and the signal is not blocked while it runs. */
#include "tst.h"

static volatile int calls, blocked = -1;

static void h(int sig)
{
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	blocked = sigismember(&cur, sig);
	calls++;
}

int main(void)
{
	pid_t pid = tst_fork();
	if (pid == 0) {
		sysv_signal(SIGUSR2, h);
		raise(SIGUSR2);
		TST_EXP_EQ(calls, 1, "handler calls");
		TST_EXP_EQ(blocked, 0, "signal blocked inside");
		TST_CHECK(signal(SIGUSR2, SIG_DFL) == SIG_DFL, "reset to SIG_DFL after delivery");
		tst_child_exit();
	}
	tst_reap(pid);
	return tst_exit();
}
