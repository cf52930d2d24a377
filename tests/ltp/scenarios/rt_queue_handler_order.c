/* Real-time signals delivered to handlers on unblocking: every queued
 * instance runs its handler once with its si_value, the frames nest as
 * the kernel sets them up (the lowest signal's frame first, so it runs
 * last) and each signal's instances run in sending order; a standard
 * signal sent three times while blocked runs its handler once. */
// tst: static
#include "tst.h"

static volatile int order[16], norder;

static void on_rt(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (norder < 16)
		order[norder++] = (sig - SIGRTMIN) * 100 + si->si_value.sival_int;
}

int main(void)
{
	static const struct { int off, val; } sent[] = { { 2, 1 }, { 0, 2 }, { 2, 3 }, { 0, 4 }, { 1, 5 } };
	/* The kernel dequeues lowest first, but sets up all the frames before
	 * returning to user mode, so the last frame (the highest signal) runs
	 * first; a signal's second instance waits for its first handler's
	 * sigreturn (the signal is blocked during its handler). */
	static const int want[] = { 201, 203, 105, 2, 4 };
	sigset_t set;
	sigemptyset(&set);
	for (int i = 0; i < 3; i++) {
		tst_sigaction(SIGRTMIN + i, on_rt, 0);
		sigaddset(&set, SIGRTMIN + i);
	}
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (size_t i = 0; i < sizeof sent / sizeof sent[0]; i++)
		SAFE(sigqueue(getpid(), SIGRTMIN + sent[i].off, (union sigval){ .sival_int = sent[i].val }));
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	TST_EXP_EQ(norder, 5, "every queued instance handled once");
	int ok = norder == 5;
	for (int i = 0; ok && i < 5; i++)
		ok = order[i] == want[i];
	TST_CHECK(ok, "nested in the kernel's order, each signal's instances in sending order");

	tst_sigaction(SIGUSR1, tst_handler, 0);
	tst_mask1(SIG_BLOCK, SIGUSR1);
	for (int i = 0; i < 3; i++)
		kill(getpid(), SIGUSR1);
	tst_mask1(SIG_UNBLOCK, SIGUSR1);
	TST_EXP_EQ(tst_sig_count[SIGUSR1], 1, "a standard signal coalesces");
	return tst_exit();
}
