/* pause ends only by a handled or fatal signal: an ignored one and a
 * default-ignored one (SIGCHLD) leave the child paused; SIGKILL ends it. */
#include "tst.h"

int main(void)
{
	pid_t pid = tst_fork();
	if (pid == 0) {
		signal(SIGUSR1, SIG_IGN);
		pause();
		_exit(3);
	}
	tst_sleep_ms(30);
	SAFE(kill(pid, SIGUSR1));
	SAFE(kill(pid, SIGCHLD));
	SAFE(kill(pid, SIGWINCH));
	tst_sleep_ms(30);
	int st;
	TST_EXP_EQ(waitpid(pid, &st, WNOHANG), 0, "still paused after ignored signals");
	SAFE(kill(pid, SIGKILL));
	st = tst_waitpid(pid, 0);
	TST_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "SIGKILL ends pause: %s", tst_strstatus(st));
	return tst_exit();
}
