/* An ignored signal does not end sigsuspend, nor does one still blocked by
 * the temporary mask: only the handled, unblocked one does. */
#include "tst.h"

int main(void)
{
	tst_signal(SIGUSR2, SIG_IGN);
	tst_sigaction(SIGUSR1, tst_handler, 0);
	tst_sigaction(SIGHUP, tst_handler, 0);
	tst_mask1(SIG_BLOCK, SIGUSR1);
	pid_t parent = getpid();
	pid_t pid = tst_fork();
	if (pid == 0) {
		tst_sleep_ms(30);
		kill(parent, SIGUSR2);
		kill(parent, SIGHUP);
		tst_sleep_ms(30);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	sigset_t tmp;
	sigemptyset(&tmp);
	sigaddset(&tmp, SIGHUP);
	int r = sigsuspend(&tmp);
	TST_CHECK(r == -1 && errno == EINTR, "sigsuspend returns EINTR");
	TST_EXP_EQ(tst_sig_count[SIGUSR1], 1, "SIGUSR1 handled");
	TST_EXP_EQ(tst_sig_count[SIGHUP], 1, "SIGHUP handled after sigsuspend (blocked by its mask)");
	tst_waitpid(pid, 0);
	return tst_exit();
}
