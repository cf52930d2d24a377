/* SIGCHLD's siginfo as the handler sees it: si_pid the child, si_uid,
 * si_code CLD_EXITED with si_status the exit code, CLD_KILLED with the
 * signal, CLD_DUMPED for a core-dumping signal when cores are on (not
 * probed: depends on the host). */
#include "tst.h"

int main(void)
{
	tst_sigaction(SIGCHLD, tst_handler, SA_RESTART);
	pid_t p = tst_fork();
	if (p == 0)
		_exit(42);
	tst_waitpid(p, 0);
	TST_CHECK(tst_wait_flag(&tst_sig_count[SIGCHLD], 2000), "SIGCHLD handled");
	siginfo_t si = tst_sig_info[SIGCHLD];
	TST_CHECK(si.si_pid == p && si.si_uid == getuid(), "si_pid, si_uid");
	TST_EXP_EQ(si.si_code, CLD_EXITED, "si_code");
	TST_EXP_EQ(si.si_status, 42, "si_status");
	tst_sig_count[SIGCHLD] = 0;
	p = tst_fork();
	if (p == 0) {
		for (;;)
			pause();
	}
	kill(p, SIGKILL);
	tst_waitpid(p, 0);
	TST_CHECK(tst_wait_flag(&tst_sig_count[SIGCHLD], 2000), "SIGCHLD handled");
	si = tst_sig_info[SIGCHLD];
	TST_EXP_EQ(si.si_code, CLD_KILLED, "si_code");
	TST_EXP_EQ(si.si_status, SIGKILL, "si_status");
	return tst_exit();
}
