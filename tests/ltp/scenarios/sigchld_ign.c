/* SIGCHLD set to SIG_IGN (and SA_NOCLDWAIT): children are reaped by the
 * kernel, so wait fails with ECHILD once they are gone. */
#include "tst.h"

static void run(int use_nocldwait)
{
	pid_t pid = tst_fork();
	if (pid == 0) {
		if (use_nocldwait) {
			struct sigaction sa;
			memset(&sa, 0, sizeof sa);
			sa.sa_handler = SIG_DFL;
			sa.sa_flags = SA_NOCLDWAIT;
			sigaction(SIGCHLD, &sa, NULL);
		} else {
			signal(SIGCHLD, SIG_IGN);
		}
		for (int i = 0; i < 3; i++)
			if (fork() == 0)
				_exit(i);
		int st;
		errno = 0;
		pid_t r;
		do
			r = wait(&st);
		while (r > 0);
		TST_CHECK(r == -1 && errno == ECHILD, "%s: wait gives ECHILD (%s)",
			  use_nocldwait ? "SA_NOCLDWAIT" : "SIG_IGN", tst_errname(errno));
		tst_child_exit();
	}
	tst_reap(pid);
}

int main(void)
{
	run(0);
	run(1);
	return tst_exit();
}
