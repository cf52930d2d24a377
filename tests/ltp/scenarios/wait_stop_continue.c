/* A stopped and continued child: waitpid WUNTRACED sees WIFSTOPPED with
 * the stop signal, WCONTINUED sees WIFCONTINUED; waitid WSTOPPED and
 * WCONTINUED give CLD_STOPPED/CLD_CONTINUED; the parent's SIGCHLD handler
 * gets si_code CLD_STOPPED then CLD_CONTINUED. */
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
	int go[2];
	char c;
	SAFE(pipe(go));
	tst_sigaction(SIGCHLD, on_chld, SA_RESTART);
	pid_t p = tst_fork();
	if (p == 0) {
		/* Each step waits for the parent to have seen the last one: a
		 * continued state not yet waited for is lost if the child stops
		 * again or exits. */
		raise(SIGSTOP);
		read(go[0], &c, 1);
		raise(SIGTSTP);
		read(go[0], &c, 1);
		_exit(2);
	}
	int st = tst_waitpid(p, WUNTRACED);
	TST_CHECK(WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP, "WUNTRACED: %s", tst_strstatus(st));
	kill(p, SIGCONT);
	st = tst_waitpid(p, WCONTINUED);
	TST_CHECK(WIFCONTINUED(st), "WCONTINUED: %s", tst_strstatus(st));
	write(go[1], "x", 1);
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
	write(go[1], "x", 1);
	st = tst_waitpid(p, 0);
	TST_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2, "then exits: %s", tst_strstatus(st));
	tst_sleep_ms(5);
	/* The child itself sends CLD_CONTINUED once it runs again, which may
	 * be after the parent's wait returned, and a later SIGCHLD (even the
	 * exit's) coalesces with it while it is pending: only the first is
	 * fixed. */
	int kinds_ok = 1;
	for (int i = 0; i < ncodes; i++)
		kinds_ok &= codes[i] == CLD_STOPPED || codes[i] == CLD_CONTINUED || codes[i] == CLD_EXITED;
	TST_CHECK(ncodes >= 2 && kinds_ok && codes[0] == CLD_STOPPED && codes[1] == CLD_CONTINUED,
		  "SIGCHLD si_codes: CLD_STOPPED, CLD_CONTINUED, then only stop/continue/exit");
	return tst_exit();
}
