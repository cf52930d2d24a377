/* waitid WNOHANG with no state change returns 0 and zeroes si_pid;
 * WNOWAIT reports a child and leaves it waitable; wait4 WNOHANG returns 0. */
#include "tst.h"

int main(void)
{
	int fds[2];
	siginfo_t si;
	SAFE(pipe(fds));
	pid_t p = tst_fork();
	if (p == 0) {
		char c;
		read(fds[0], &c, 1);
		_exit(9);
	}
	memset(&si, 0x55, sizeof si);
	TST_EXP_EQ(waitid(P_PID, p, &si, WEXITED | WNOHANG), 0, "WNOHANG, child running");
	TST_EXP_EQ(si.si_pid, 0, "si_pid zeroed");
	TST_EXP_EQ(wait4(p, NULL, WNOHANG, NULL), 0, "wait4 WNOHANG, child running");
	write(fds[1], "x", 1);
	TST_EXP_EQ(waitid(P_PID, p, &si, WEXITED | WNOWAIT), 0, "WNOWAIT");
	TST_CHECK(si.si_pid == p && si.si_status == 9, "WNOWAIT reports the child");
	memset(&si, 0, sizeof si);
	TST_EXP_EQ(waitid(P_PID, p, &si, WEXITED), 0, "still waitable after WNOWAIT");
	TST_CHECK(si.si_pid == p && si.si_status == 9 && si.si_code == CLD_EXITED, "and reaped now");
	TST_EXP_FAIL(waitid(P_PID, p, &si, WEXITED | WNOHANG), ECHILD);
	return tst_exit();
}
