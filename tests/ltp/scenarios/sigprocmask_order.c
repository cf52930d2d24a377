/* Unblocking several pending signals at once: all are delivered before
 * sigprocmask returns; the kernel dequeues lowest number first and pushes a
 * frame for each, so handlers run in the reverse order (exact order checked). */
// tst: static
#include "tst.h"

static int order[8], n;

static void h(int sig)
{
	if (n < 8)
		order[n++] = sig;
}

int main(void)
{
	int sigs[] = { SIGRTMIN, SIGUSR2, SIGHUP, SIGUSR1 };
	sigset_t s;
	sigemptyset(&s);
	for (int i = 0; i < 4; i++) {
		tst_signal(sigs[i], h);
		sigaddset(&s, sigs[i]);
	}
	SAFE(sigprocmask(SIG_BLOCK, &s, NULL));
	for (int i = 0; i < 4; i++)
		raise(sigs[i]);
	SAFE(sigprocmask(SIG_UNBLOCK, &s, NULL));
	char buf[64] = "", *p = buf;
	for (int i = 0; i < n; i++)
		p += sprintf(p, " %d", order[i]);
	TST_EXP_EQ(n, 4, "deliveries");
	TST_CHECK(n == 4 && order[0] == SIGRTMIN && order[1] == SIGUSR2 && order[2] == SIGUSR1 && order[3] == SIGHUP,
		  "handler order:%s", buf);
	return tst_exit();
}
