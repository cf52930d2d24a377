/* A handler that edits uc_sigmask in its ucontext: rt_sigreturn installs
 * the edited mask (SIGKILL/SIGSTOP dropped from it as always). */
#include "tst.h"

static void h(int sig, siginfo_t *info, void *ucv)
{
	(void)sig;
	(void)info;
	ucontext_t *uc = ucv;
	sigaddset(&uc->uc_sigmask, SIGUSR2);
	sigaddset(&uc->uc_sigmask, SIGRTMAX);
	sigaddset(&uc->uc_sigmask, SIGKILL);
	sigaddset(&uc->uc_sigmask, SIGSTOP);
	sigdelset(&uc->uc_sigmask, SIGHUP);
}

int main(void)
{
	tst_sigaction(SIGUSR1, h, 0);
	tst_mask1(SIG_BLOCK, SIGHUP);
	raise(SIGUSR1);
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	TST_CHECK(sigismember(&cur, SIGUSR2) && sigismember(&cur, SIGRTMAX), "signals added to uc_sigmask are blocked");
	TST_CHECK(!sigismember(&cur, SIGHUP), "signal removed from uc_sigmask is unblocked");
	TST_CHECK(!sigismember(&cur, SIGKILL) && !sigismember(&cur, SIGSTOP), "SIGKILL/SIGSTOP never blocked");
	return tst_exit();
}
