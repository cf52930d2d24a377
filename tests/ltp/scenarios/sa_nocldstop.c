/* SA_NOCLDSTOP: no SIGCHLD when a child stops (or continues); without the
 * flag the parent gets one for each. */
#include "tst.h"

static int chld_count_for_stop(int flags)
{
	int fds[2];
	char c;
	SAFE(pipe(fds));
	tst_sig_count[SIGCHLD] = 0;
	tst_sigaction(SIGCHLD, tst_handler, SA_RESTART | flags);
	pid_t p = tst_fork();
	if (p == 0) {
		raise(SIGSTOP);
		/* Stay alive until counted: the exit sends its own SIGCHLD. */
		read(fds[0], &c, 1);
		_exit(0);
	}
	tst_waitpid(p, WUNTRACED);
	kill(p, SIGCONT);
	tst_waitpid(p, WCONTINUED);
	tst_sleep_ms(10);
	int n = tst_sig_count[SIGCHLD];
	write(fds[1], "x", 1);
	tst_waitpid(p, 0);
	close(fds[0]);
	close(fds[1]);
	return n;
}

int main(void)
{
	TST_EXP_EQ(chld_count_for_stop(SA_NOCLDSTOP), 0, "SA_NOCLDSTOP: SIGCHLDs for stop+continue");
	TST_EXP_EQ(chld_count_for_stop(0), 2, "without it: SIGCHLDs for stop+continue");
	return tst_exit();
}
