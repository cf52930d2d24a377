/* SIGCHLD: the handler's siginfo for an exiting child has CLD_EXITED, the
 * child's pid and exit status; for a killed child CLD_KILLED and the
 * signal; SA_NOCLDSTOP suppresses it for stops. */
#include "tst.h"

int main(void)
{
	tst_sigaction(SIGCHLD, tst_handler, SA_NOCLDSTOP);
	tst_mask1(SIG_BLOCK, SIGCHLD);
	pid_t pid = tst_fork();
	if (pid == 0)
		_exit(42);
	tst_waitpid(pid, 0);
	tst_mask1(SIG_UNBLOCK, SIGCHLD);
	siginfo_t *i = &tst_sig_info[SIGCHLD];
	TST_EXP_EQ(tst_sig_count[SIGCHLD], 1, "SIGCHLD deliveries");
	TST_EXP_EQ(i->si_code, CLD_EXITED, "si_code");
	TST_CHECK(i->si_pid == pid, "si_pid is the child");
	TST_EXP_EQ(i->si_status, 42, "si_status");
	tst_mask1(SIG_BLOCK, SIGCHLD);
	pid = tst_fork();
	if (pid == 0) {
		raise(SIGSTOP);
		raise(SIGTERM);
		_exit(0);
	}
	int st = tst_waitpid(pid, WUNTRACED);
	TST_CHECK(WIFSTOPPED(st), "child stopped");
	sigset_t p;
	sigpending(&p);
	TST_CHECK(!sigismember(&p, SIGCHLD), "no SIGCHLD for the stop under SA_NOCLDSTOP");
	kill(pid, SIGCONT);
	tst_waitpid(pid, 0);
	tst_mask1(SIG_UNBLOCK, SIGCHLD);
	TST_EXP_EQ(i->si_code, CLD_KILLED, "si_code of a killed child");
	TST_EXP_EQ(i->si_status, SIGTERM, "si_status is the signal");
	return tst_exit();
}
