/* kill with a negative pid and with pid 0 reaches every process of the
 * group: three children in a group of their own all die of SIGUSR1; kill(0)
 * from one of them reaches its siblings and itself. */
#include "tst.h"

static pid_t spawn(pid_t pgid)
{
	pid_t pid = tst_fork();
	if (pid == 0) {
		setpgid(0, pgid);
		for (;;)
			pause();
	}
	setpgid(pid, pgid);
	return pid;
}

int main(void)
{
	pid_t a = spawn(0);
	pid_t b = spawn(a), c = spawn(a);
	tst_sleep_ms(20);
	SAFE(kill(-a, SIGUSR1));
	pid_t kids[] = { a, b, c };
	for (int i = 0; i < 3; i++) {
		int st = tst_waitpid(kids[i], 0);
		TST_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1, "group member %d %s", i, tst_strstatus(st));
	}
	a = spawn(0);
	b = spawn(a);
	pid_t sender = tst_fork();
	if (sender == 0) {
		setpgid(0, a);
		tst_sleep_ms(20);
		kill(0, SIGUSR2);
		_exit(0);
	}
	setpgid(sender, a);
	pid_t all[] = { a, b, sender };
	for (int i = 0; i < 3; i++) {
		int st = tst_waitpid(all[i], 0);
		TST_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR2, "kill(0) member %d %s", i, tst_strstatus(st));
	}
	TST_EXP_FAIL(kill(-a, SIGUSR1), ESRCH);
	return tst_exit();
}
