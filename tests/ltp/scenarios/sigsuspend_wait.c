/* sigsuspend waits: a child sends SIGUSR1 a little later; the handler runs
 * under the temporary mask (plus the signal itself), and sigsuspend returns
 * EINTR with the old mask restored. */
#include "tst.h"

static volatile int tmp_mask_ok = -1;

static void h(int sig)
{
	(void)sig;
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	tmp_mask_ok = sigismember(&cur, SIGHUP) && sigismember(&cur, SIGUSR1) && !sigismember(&cur, SIGUSR2);
}

int main(void)
{
	tst_signal(SIGUSR1, h);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGUSR2);
	SAFE(sigprocmask(SIG_BLOCK, &s, NULL));
	pid_t parent = getpid();
	pid_t pid = tst_fork();
	if (pid == 0) {
		tst_sleep_ms(50);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	sigset_t tmp;
	sigemptyset(&tmp);
	sigaddset(&tmp, SIGHUP);
	errno = 0;
	int r = sigsuspend(&tmp);
	TST_CHECK(r == -1 && errno == EINTR, "sigsuspend returns -1 EINTR");
	TST_EXP_EQ(tmp_mask_ok, 1, "handler runs under the temporary mask");
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	TST_CHECK(sigismember(&cur, SIGUSR1) && sigismember(&cur, SIGUSR2) && !sigismember(&cur, SIGHUP), "old mask restored");
	tst_waitpid(pid, 0);
	return tst_exit();
}
