/* SIGCHLD set to SIG_IGN reaps children: wait gives ECHILD and nothing
 * interrupts; SIG_DFL (also ignored) keeps zombies to wait for. */
#include "tst.h"

int main(void)
{
	tst_signal(SIGCHLD, SIG_IGN);
	pid_t p = tst_fork();
	if (p == 0)
		_exit(1);
	TST_EXP_FAIL(waitpid(p, NULL, 0), ECHILD);
	tst_signal(SIGCHLD, SIG_DFL);
	p = tst_fork();
	if (p == 0)
		_exit(4);
	int st = tst_waitpid(p, 0);
	TST_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 4, "SIG_DFL: the zombie is waited for: %s", tst_strstatus(st));
	return tst_exit();
}
