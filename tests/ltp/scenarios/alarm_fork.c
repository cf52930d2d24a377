/* alarm: a fork child has no alarm pending; the parent's still fires;
 * an alarm with the default action kills the process with SIGALRM. */
#include "tst.h"

int main(void)
{
	alarm(50);
	pid_t child = tst_fork();
	if (child == 0) {
		TST_EXP_EQ(alarm(0), 0, "the fork child inherits no alarm");
		tst_child_exit();
	}
	tst_reap(child);
	TST_CHECK(alarm(0) > 0, "the parent's alarm is still set");
	child = tst_fork();
	if (child == 0) {
		signal(SIGALRM, SIG_DFL);
		alarm(1);
		for (;;)
			pause();
	}
	int st = tst_waitpid(child, 0);
	TST_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM, "default SIGALRM kills: %s", tst_strstatus(st));
	return tst_exit();
}
