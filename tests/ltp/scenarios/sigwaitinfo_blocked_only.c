/* sigwaitinfo takes a pending signal from the set even when it is not
 * blocked-then-waited in order: two signals pending, waiting for the second
 * leaves the first pending; a signal outside the set is not taken. */
#include "tst.h"

int main(void)
{
	sigset_t both, only2, pend;
	siginfo_t si;
	sigemptyset(&both);
	sigaddset(&both, SIGUSR1);
	sigaddset(&both, SIGUSR2);
	sigemptyset(&only2);
	sigaddset(&only2, SIGUSR2);
	sigprocmask(SIG_BLOCK, &both, NULL);
	raise(SIGUSR1);
	raise(SIGUSR2);
	TST_EXP_EQ(sigwaitinfo(&only2, &si), SIGUSR2, "waiting for SIGUSR2 takes SIGUSR2");
	sigpending(&pend);
	TST_CHECK(sigismember(&pend, SIGUSR1), "SIGUSR1 is still pending");
	TST_CHECK(!sigismember(&pend, SIGUSR2), "SIGUSR2 is no longer pending");
	TST_EXP_EQ(sigwaitinfo(&both, NULL), SIGUSR1, "a NULL siginfo is allowed");
	return tst_exit();
}
