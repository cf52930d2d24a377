/* waitid with every id type: P_PID, P_PGID, P_ALL and P_PIDFD; siginfo
 * gives si_pid, si_uid, si_signo SIGCHLD, si_code CLD_EXITED and
 * si_status the exit code (CLD_KILLED and the signal for a killed child). */
#include "tst.h"
#include <sys/syscall.h>

static pid_t child(int code, int own_group)
{
	pid_t p = tst_fork();
	if (p == 0) {
		if (own_group)
			setpgid(0, 0);
		if (code < 0)
			raise(-code);
		_exit(code);
	}
	if (own_group)
		setpgid(p, p);
	return p;
}

static void check(const char *what, idtype_t type, id_t id, pid_t p, int code, int status)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	int r = waitid(type, id, &si, WEXITED);
	TST_CHECK(r == 0 && si.si_pid == p && si.si_signo == SIGCHLD && si.si_code == code &&
			  si.si_status == status && si.si_uid == getuid(),
		  "%s: si_code %d si_status %d", what, si.si_code, si.si_status);
}

int main(void)
{
	pid_t p = child(3, 0);
	check("P_PID", P_PID, p, p, CLD_EXITED, 3);
	p = child(4, 1);
	check("P_PGID", P_PGID, p, p, CLD_EXITED, 4);
	p = child(-SIGTERM, 0);
	check("P_ALL, killed", P_ALL, 0, p, CLD_KILLED, SIGTERM);
	p = child(5, 0);
	int pfd = syscall(SYS_pidfd_open, p, 0);
	if (pfd < 0) {
		tst_res(TCONF, "pidfd_open: %s", tst_errname(errno));
		tst_waitpid(p, 0);
	} else {
		check("P_PIDFD", P_PIDFD, pfd, p, CLD_EXITED, 5);
	}
	siginfo_t si;
	TST_EXP_FAIL(waitid(P_ALL, 0, &si, WEXITED), ECHILD);
	TST_EXP_FAIL(waitid(P_ALL, 0, &si, 0), EINVAL);
	TST_EXP_FAIL(waitid(7, 0, &si, WEXITED), EINVAL);
	return tst_exit();
}
