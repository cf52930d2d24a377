/* pause returns -1 EINTR once a handler has run (the signal sent by a child
 * after a delay). */
// tst: static
#include "tst.h"

int main(void)
{
	tst_sigaction(SIGUSR1, tst_handler, 0);
	pid_t parent = getpid();
	pid_t pid = tst_fork();
	if (pid == 0) {
		tst_sleep_ms(50);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	errno = 0;
	int r = pause();
	TST_CHECK(r == -1 && errno == EINTR, "pause: %d %s", r, tst_errname(errno));
	TST_EXP_EQ(tst_sig_count[SIGUSR1], 1, "handler ran");
	tst_waitpid(pid, 0);
	return tst_exit();
}
