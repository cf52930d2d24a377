/* Real-time signals queue: three sigqueues of one signal while blocked are
 * delivered three times, in order, each with its own si_value; several
 * real-time signals are dequeued lowest number first (and their handlers
 * nest, so the exact order of handler runs is checked). */
// tst: static
#include "tst.h"

static int seen[16], n;

static void h(int sig, siginfo_t *info, void *uc)
{
	(void)uc;
	if (n < 16)
		seen[n++] = (sig - SIGRTMIN) * 100 + info->si_value.sival_int;
}

int main(void)
{
	sigset_t s;
	sigemptyset(&s);
	for (int i = 0; i < 3; i++) {
		tst_sigaction(SIGRTMIN + i, h, 0);
		sigaddset(&s, SIGRTMIN + i);
	}
	SAFE(sigprocmask(SIG_BLOCK, &s, NULL));
	for (int v = 1; v <= 3; v++) {
		SAFE(sigqueue(getpid(), SIGRTMIN + 2, (union sigval){ .sival_int = v }));
		SAFE(sigqueue(getpid(), SIGRTMIN, (union sigval){ .sival_int = v }));
	}
	SAFE(sigqueue(getpid(), SIGRTMIN + 1, (union sigval){ .sival_int = 9 }));
	SAFE(sigprocmask(SIG_UNBLOCK, &s, NULL));
	TST_EXP_EQ(n, 7, "deliveries");
	char buf[128] = "", *p = buf;
	for (int i = 0; i < n; i++)
		p += sprintf(p, " %d", seen[i]);
	/* Each handler blocks only its own signal, so at unblocking the kernel
	 * pushes frames for SIGRTMIN(1), then SIGRTMIN+1, then SIGRTMIN+2(1)
	 * before any handler runs: the last pushed runs first, and each
	 * sigreturn lets the next instance of that signal in. */
	int want[] = { 201, 202, 203, 109, 1, 2, 3 };
	int ok = n == 7;
	for (int i = 0; ok && i < 7; i++)
		ok = seen[i] == want[i];
	TST_CHECK(ok, "queued in order with their values, nested as the kernel does:%s", buf);
	return tst_exit();
}
