/* Setting SIG_IGN discards pending instances (standard and queued
 * real-time) of that signal even while it stays blocked; SIG_DFL for a
 * default-ignored signal (SIGCHLD) discards too. */
#include "tst.h"

int main(void)
{
	sigset_t s, p;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGRTMIN);
	sigaddset(&s, SIGCHLD);
	SAFE(sigprocmask(SIG_BLOCK, &s, NULL));
	tst_sigaction(SIGCHLD, tst_handler, 0);
	raise(SIGUSR1);
	raise(SIGCHLD);
	sigqueue(getpid(), SIGRTMIN, (union sigval){ 1 });
	sigqueue(getpid(), SIGRTMIN, (union sigval){ 2 });
	sigpending(&p);
	TST_CHECK(sigismember(&p, SIGUSR1) && sigismember(&p, SIGRTMIN) && sigismember(&p, SIGCHLD), "all pending");
	tst_signal(SIGUSR1, SIG_IGN);
	tst_signal(SIGRTMIN, SIG_IGN);
	tst_signal(SIGCHLD, SIG_DFL);
	sigpending(&p);
	TST_CHECK(!sigismember(&p, SIGUSR1), "SIG_IGN discards the pending SIGUSR1");
	TST_CHECK(!sigismember(&p, SIGRTMIN), "SIG_IGN discards the queued SIGRTMIN");
	TST_CHECK(!sigismember(&p, SIGCHLD), "SIG_DFL discards the pending SIGCHLD");
	tst_sigaction(SIGUSR1, tst_handler, 0);
	tst_sigaction(SIGRTMIN, tst_handler, 0);
	SAFE(sigprocmask(SIG_UNBLOCK, &s, NULL));
	TST_EXP_EQ(tst_sig_count[SIGUSR1] + tst_sig_count[SIGRTMIN] + tst_sig_count[SIGCHLD], 0, "deliveries after unblocking");
	return tst_exit();
}
