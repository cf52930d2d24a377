/* Real-time signals queue: every instance is kept with its si_value, the
 * lowest-numbered signal comes first and one signal's instances come in the
 * order they were sent (signal(7)); standard signals coalesce. */
// tst: static
#include "tst.h"

int main(void)
{
	static const struct { int off, val; } sent[] = { { 2, 1 }, { 0, 2 }, { 2, 3 }, { 0, 4 }, { 1, 5 }, { 0, 6 } };
	static const int want[] = { 2, 4, 6, 5, 1, 3 };
	sigset_t set;
	siginfo_t si;
	struct timespec zero = { 0, 0 };
	int ok = 1;
	sigemptyset(&set);
	for (int i = 0; i < 3; i++)
		sigaddset(&set, SIGRTMIN + i);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);

	for (size_t i = 0; i < sizeof sent / sizeof sent[0]; i++)
		SAFE(sigqueue(getpid(), SIGRTMIN + sent[i].off, (union sigval){ .sival_int = sent[i].val }));
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		int s = sigtimedwait(&set, &si, &zero);
		if (s < 0 || si.si_value.sival_int != want[i] || si.si_code != SI_QUEUE) {
			tst_res(TFAIL, "instance %zu: signal RTMIN+%d value %d, want value %d", i, s - SIGRTMIN,
				si.si_value.sival_int, want[i]);
			ok = 0;
		}
	}
	TST_CHECK(ok, "six queued instances come back by signal number, then in sending order");
	TST_EXP_FAIL(sigtimedwait(&set, &si, &zero), EAGAIN);

	for (int i = 0; i < 3; i++)
		kill(getpid(), SIGUSR1);
	TST_EXP_EQ(sigtimedwait(&set, &si, &zero), SIGUSR1, "a standard signal sent three times");
	TST_EXP_FAIL(sigtimedwait(&set, &si, &zero), EAGAIN);
	return tst_exit();
}
