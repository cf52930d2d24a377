/* Every catchable signal (1..64 but SIGKILL, SIGSTOP and glibc's 32, 33)
 * can be handled: raise runs the handler exactly once. */
// tst: static
#include "tst.h"

static volatile int count[65];

static void h(int sig) { count[sig]++; }

int main(void)
{
	int bad = 0;
	for (int sig = 1; sig < 65; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP || sig == 32 || sig == 33)
			continue;
		if (signal(sig, h) == SIG_ERR) {
			tst_res(TFAIL, "signal(%d) failed: %s", sig, tst_errname(errno));
			bad++;
			continue;
		}
		raise(sig);
		if (count[sig] != 1) {
			tst_res(TFAIL, "signal %d: %d deliveries", sig, count[sig]);
			bad++;
		}
	}
	if (!bad)
		tst_res(TPASS, "60 signals handled once each");
	return tst_exit();
}
