/* fork: the child's pending set is empty (a signal pending in the parent
 * stays the parent's), while the mask, the dispositions and the handlers
 * are inherited and work. */
// tst: static
#include "tst.h"

int main(void)
{
	tst_sigaction(SIGUSR1, tst_handler, 0);
	tst_signal(SIGUSR2, SIG_IGN);
	tst_mask1(SIG_BLOCK, SIGHUP);
	raise(SIGHUP);
	kill(getpid(), SIGHUP);
	pid_t pid = tst_fork();
	if (pid == 0) {
		sigset_t p, cur;
		sigpending(&p);
		TST_CHECK(sigisemptyset(&p), "child's pending set is empty");
		sigprocmask(SIG_BLOCK, NULL, &cur);
		TST_CHECK(sigismember(&cur, SIGHUP), "child inherits the mask");
		raise(SIGUSR2);
		tst_res(TPASS, "ignored SIGUSR2 stays ignored in the child");
		raise(SIGUSR1);
		TST_EXP_EQ(tst_sig_count[SIGUSR1], 1, "child runs the inherited handler");
		tst_child_exit();
	}
	tst_reap(pid);
	sigset_t p;
	sigpending(&p);
	TST_CHECK(sigismember(&p, SIGHUP), "still pending in the parent");
	return tst_exit();
}
