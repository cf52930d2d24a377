/* RLIMIT_SIGPENDING bounds queued real-time signals: with a limit of 8,
 * queuing blocked SIGRTMIN fails with EAGAIN before the 9th and the queued
 * ones are all delivered at unblock. */
#include "tst.h"

int main(void)
{
	struct rlimit rl = { 8, 8 };
	tst_private_sigpending_count();
	SAFE(setrlimit(RLIMIT_SIGPENDING, &rl));
	tst_sigaction(SIGRTMIN, tst_handler, 0);
	tst_mask1(SIG_BLOCK, SIGRTMIN);
	int queued = 0, err = 0;
	for (int i = 0; i < 20; i++) {
		if (sigqueue(getpid(), SIGRTMIN, (union sigval){ i }) == -1) {
			err = errno;
			break;
		}
		queued++;
	}
	TST_CHECK(err == EAGAIN, "sigqueue fails with EAGAIN (%s)", tst_errname(err));
	TST_CHECK(queued >= 1 && queued <= 8, "queued within the limit");
	tst_mask1(SIG_UNBLOCK, SIGRTMIN);
	TST_CHECK(tst_sig_count[SIGRTMIN] == queued, "every queued instance delivered");
	return tst_exit();
}
