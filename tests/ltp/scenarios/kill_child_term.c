/* kill: SIGTERM to a child blocked in pause kills it (WTERMSIG SIGTERM, no
 * core); SIGKILL to one that ignores SIGTERM kills it too. */
#include "tst.h"

int main(void)
{
	pid_t pid = tst_fork();
	if (pid == 0) {
		for (;;)
			pause();
	}
	tst_sleep_ms(20);
	SAFE(kill(pid, SIGTERM));
	int st = tst_waitpid(pid, 0);
	TST_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM && !WCOREDUMP(st), "child %s", tst_strstatus(st));
	pid = tst_fork();
	if (pid == 0) {
		signal(SIGTERM, SIG_IGN);
		for (;;)
			pause();
	}
	tst_sleep_ms(20);
	SAFE(kill(pid, SIGTERM));
	tst_sleep_ms(20);
	TST_EXP_EQ(waitpid(pid, &st, WNOHANG), 0, "child ignoring SIGTERM still runs");
	SAFE(kill(pid, SIGKILL));
	st = tst_waitpid(pid, 0);
	TST_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "child %s", tst_strstatus(st));
	return tst_exit();
}
