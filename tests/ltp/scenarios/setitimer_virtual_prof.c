/* ITIMER_VIRTUAL and ITIMER_PROF count CPU time: a busy loop gets SIGVTALRM
 * and SIGPROF, with it_interval repeating them. */
#include "tst.h"

static int busy_until(volatile sig_atomic_t *count, int n)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (*count < n) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 5)
			return 0;
	}
	return 1;
}

int main(void)
{
	static const struct { int which, sig; const char *name; } t[] = {
		{ ITIMER_VIRTUAL, SIGVTALRM, "ITIMER_VIRTUAL" },
		{ ITIMER_PROF, SIGPROF, "ITIMER_PROF" },
	};
	for (int i = 0; i < 2; i++) {
		struct itimerval it = { { 0, 5000 }, { 0, 5000 } }, off = { { 0, 0 }, { 0, 0 } };
		tst_sigaction(t[i].sig, tst_handler, SA_RESTART);
		SAFE(setitimer(t[i].which, &it, NULL));
		TST_CHECK(busy_until(&tst_sig_count[t[i].sig], 3), "%s: three signals in a busy loop", t[i].name);
		SAFE(setitimer(t[i].which, &off, NULL));
		TST_EXP_EQ(tst_sig_info[t[i].sig].si_code, SI_KERNEL, t[i].name);
	}
	return tst_exit();
}
