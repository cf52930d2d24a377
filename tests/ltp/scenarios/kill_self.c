/* kill, tgkill and raise to oneself: each signal is handled before the
 * call returns, with si_code SI_USER (kill) or SI_TKILL (tgkill, raise),
 * si_pid our pid and si_uid our real uid; a blocked one waits in
 * sigpending and coalesces; an ignored one is discarded; with another
 * thread alive (blocking it) kill still reaches us. */
#include "tst.h"

static void *blocker(void *arg)
{
	(void)arg;
	tst_mask1(SIG_BLOCK, SIGUSR1);
	pause();
	return NULL;
}

int main(void)
{
	tst_sigaction(SIGUSR1, tst_handler, 0);
	TST_EXP_OK(kill(getpid(), SIGUSR1));
	TST_EXP_EQ(tst_sig_count[SIGUSR1], 1, "kill: handled before it returned");
	TST_EXP_EQ(tst_sig_info[SIGUSR1].si_code, SI_USER, "kill: si_code");
	TST_CHECK(tst_sig_info[SIGUSR1].si_pid == getpid(), "kill: si_pid");
	TST_CHECK(tst_sig_info[SIGUSR1].si_uid == getuid(), "kill: si_uid");

	TST_EXP_OK(syscall(SYS_tgkill, getpid(), tst_gettid(), SIGUSR1));
	TST_EXP_EQ(tst_sig_count[SIGUSR1], 2, "tgkill: handled before it returned");
	TST_EXP_EQ(tst_sig_info[SIGUSR1].si_code, SI_TKILL, "tgkill: si_code");
	TST_CHECK(tst_sig_info[SIGUSR1].si_uid == getuid(), "tgkill: si_uid");

	TST_EXP_OK(raise(SIGUSR1));
	TST_EXP_EQ(tst_sig_count[SIGUSR1], 3, "raise: handled before it returned");

	tst_mask1(SIG_BLOCK, SIGUSR1);
	TST_EXP_OK(kill(getpid(), SIGUSR1));
	TST_EXP_OK(kill(getpid(), SIGUSR1));
	sigset_t set;
	sigpending(&set);
	TST_CHECK(sigismember(&set, SIGUSR1), "blocked: pending");
	TST_EXP_EQ(tst_sig_count[SIGUSR1], 3, "blocked: not handled");
	tst_mask1(SIG_UNBLOCK, SIGUSR1);
	TST_EXP_EQ(tst_sig_count[SIGUSR1], 4, "unblocked: handled once");

	signal(SIGUSR2, SIG_IGN);
	TST_EXP_OK(kill(getpid(), SIGUSR2));
	sigpending(&set);
	TST_CHECK(!sigismember(&set, SIGUSR2), "ignored: not pending");

	pthread_t t;
	pthread_create(&t, NULL, blocker, NULL);
	usleep(20000);
	TST_EXP_OK(kill(getpid(), SIGUSR1));
	TST_EXP_EQ(tst_sig_count[SIGUSR1], 5, "two threads: handled here");
	return tst_exit();
}
