/* A stopped and continued child: waitpid WUNTRACED sees WIFSTOPPED with
 * the stop signal, WCONTINUED sees WIFCONTINUED; waitid WSTOPPED and
 * WCONTINUED give CLD_STOPPED/CLD_CONTINUED; the parent's SIGCHLD handler
 * gets si_code CLD_STOPPED, CLD_CONTINUED, then CLD_EXITED. */
#include "tst.h"

static volatile sig_atomic_t codes[8], ncodes;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (ncodes < 8)
		codes[ncodes++] = si->si_code;
}

int main(void)
{
	tst_sigaction(SIGCHLD, on_chld, SA_RESTART);
	pid_t p = tst_fork();
	if (p == 0) {
		raise(SIGSTOP);
		raise(SIGTSTP);
		_exit(2);
	}
	int st = tst_waitpid(p, WUNTRACED);
	TST_CHECK(WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP, "WUNTRACED: %s", tst_strstatus(st));
	kill(p, SIGCONT);
	st = tst_waitpid(p, WCONTINUED);
	TST_CHECK(WIFCONTINUED(st), "WCONTINUED: %s", tst_strstatus(st));
	siginfo_t si;
	memset(&si, 0, sizeof si);
	while (waitid(P_PID, p, &si, WSTOPPED) < 0 && errno == EINTR)
		;
	TST_CHECK(si.si_code == CLD_STOPPED && si.si_status == SIGTSTP, "waitid WSTOPPED: CLD_STOPPED by SIGTSTP");
	kill(p, SIGCONT);
	memset(&si, 0, sizeof si);
	while (waitid(P_PID, p, &si, WCONTINUED) < 0 && errno == EINTR)
		;
	TST_CHECK(si.si_code == CLD_CONTINUED && si.si_status == SIGCONT, "waitid WCONTINUED: CLD_CONTINUED");
	st = tst_waitpid(p, 0);
	TST_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2, "then exits: %s", tst_strstatus(st));
	tst_sleep_ms(5);
	TST_CHECK(ncodes >= 5 && codes[0] == CLD_STOPPED && codes[1] == CLD_CONTINUED && codes[ncodes - 1] == CLD_EXITED,
		  "SIGCHLD si_codes: stopped, continued, ..., exited");
	return tst_exit();
}
