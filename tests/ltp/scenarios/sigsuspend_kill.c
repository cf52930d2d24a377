/* A process in sigsuspend with every signal blocked by its mask still dies
 * of SIGKILL, and stops on SIGSTOP and resumes waiting on SIGCONT. */
#include "tst.h"

int main(void)
{
	pid_t pid = tst_fork();
	if (pid == 0) {
		sigset_t all;
		sigfillset(&all);
		sigsuspend(&all);
		_exit(3);
	}
	tst_sleep_ms(30);
	SAFE(kill(pid, SIGSTOP));
	int st = tst_waitpid(pid, WUNTRACED);
	TST_CHECK(WIFSTOPPED(st), "stopped: %s", tst_strstatus(st));
	SAFE(kill(pid, SIGCONT));
	st = tst_waitpid(pid, WCONTINUED);
	TST_CHECK(WIFCONTINUED(st), "continued: %s", tst_strstatus(st));
	tst_sleep_ms(30);
	TST_EXP_EQ(waitpid(pid, &st, WNOHANG), 0, "still suspended after SIGCONT");
	SAFE(kill(pid, SIGKILL));
	st = tst_waitpid(pid, 0);
	TST_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "killed: %s", tst_strstatus(st));
	return tst_exit();
}
