/* sigprocmask: SIG_BLOCK adds, SIG_UNBLOCK removes, SIG_SETMASK replaces,
 * the old mask comes back each time, and a NULL set only queries. */
#include "tst.h"

static int mask_is(const sigset_t *m, const int *sigs, int n)
{
	for (int s = 1; s < 65; s++) {
		int want = 0;
		for (int i = 0; i < n; i++)
			want |= sigs[i] == s;
		if (s == 32 || s == 33)
			continue; /* glibc's own, hidden by its sigprocmask */
		if (sigismember(m, s) != want)
			return 0;
	}
	return 1;
}

int main(void)
{
	sigset_t a, b, old;
	sigemptyset(&a);
	sigaddset(&a, SIGUSR1);
	sigaddset(&a, SIGRTMIN);
	SAFE(sigprocmask(SIG_BLOCK, &a, &old));
	TST_CHECK(mask_is(&old, NULL, 0), "initial mask empty");
	sigemptyset(&b);
	sigaddset(&b, SIGTERM);
	SAFE(sigprocmask(SIG_BLOCK, &b, &old));
	TST_CHECK(mask_is(&old, (int[]){ SIGUSR1, SIGRTMIN }, 2), "BLOCK added USR1, RTMIN");
	SAFE(sigprocmask(SIG_UNBLOCK, &a, &old));
	TST_CHECK(mask_is(&old, (int[]){ SIGUSR1, SIGRTMIN, SIGTERM }, 3), "second BLOCK added TERM");
	SAFE(sigprocmask(SIG_SETMASK, NULL, &old));
	TST_CHECK(mask_is(&old, (int[]){ SIGTERM }, 1), "UNBLOCK removed USR1, RTMIN; NULL set only queries");
	sigfillset(&a);
	SAFE(sigprocmask(SIG_SETMASK, &a, &old));
	SAFE(sigprocmask(SIG_SETMASK, &b, &old));
	sigdelset(&a, SIGKILL);
	sigdelset(&a, SIGSTOP);
	int all_but[62], k = 0;
	for (int s = 1; s < 65; s++)
		if (s != SIGKILL && s != SIGSTOP && s != 32 && s != 33)
			all_but[k++] = s;
	TST_CHECK(mask_is(&old, all_but, k), "SETMASK full: all but SIGKILL, SIGSTOP");
	uint64_t raw;
	SAFE(syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &raw, 8));
	TST_CHECK(raw == 1ULL << (SIGTERM - 1), "raw mask is SIGTERM only");
	return tst_exit();
}
