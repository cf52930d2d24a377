/* A stopped process: further signals stay pending (a handled SIGUSR1 runs
 * only after SIGCONT), and SIGKILL ends it while stopped. */
#include "tst.h"

int main(void)
{
	pid_t pid = tst_fork();
	if (pid == 0) {
		tst_sigaction(SIGUSR1, tst_handler, 0);
		raise(SIGSTOP);
		_exit(tst_sig_count[SIGUSR1] == 1 ? 5 : 6);
	}
	int st = tst_waitpid(pid, WUNTRACED);
	TST_CHECK(WIFSTOPPED(st), "stopped: %s", tst_strstatus(st));
	SAFE(kill(pid, SIGUSR1));
	tst_sleep_ms(20);
	TST_EXP_EQ(waitpid(pid, &st, WNOHANG | WCONTINUED), 0, "a signal does not wake a stopped process");
	SAFE(kill(pid, SIGCONT));
	st = tst_waitpid(pid, 0);
	TST_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 5, "SIGUSR1 handled after SIGCONT: %s", tst_strstatus(st));
	pid = tst_fork();
	if (pid == 0) {
		raise(SIGSTOP);
		_exit(0);
	}
	tst_waitpid(pid, WUNTRACED);
	SAFE(kill(pid, SIGKILL));
	st = tst_waitpid(pid, 0);
	TST_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "SIGKILL while stopped: %s", tst_strstatus(st));
	return tst_exit();
}
