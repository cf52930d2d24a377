/* RLIMIT_SIGPENDING bounds the queued signals: sigqueue fails with EAGAIN
 * once the limit is reached (never before the first), while kill of a
 * standard signal still gets through; taking one instance makes room. */
#include "tst.h"
#include <sys/resource.h>

int main(void)
{
	struct rlimit rl = { 8, 8 };
	sigset_t set;
	struct timespec zero = { 0, 0 };
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	tst_private_sigpending_count();
	SAFE(setrlimit(RLIMIT_SIGPENDING, &rl));
	int n = 0;
	while (n < 100 && sigqueue(getpid(), SIGRTMIN, (union sigval){ .sival_int = n }) == 0)
		n++;
	int e = errno;
	/* Other processes of this user may hold some of the 8: at most 8 here. */
	TST_CHECK(n >= 1 && n <= 8, "queued up to the limit");
	TST_EXP_EQ(e, EAGAIN, "then sigqueue fails with errno EAGAIN");
	TST_EXP_OK(kill(getpid(), SIGUSR1));
	sigset_t pend;
	sigpending(&pend);
	TST_CHECK(sigismember(&pend, SIGUSR1), "a standard signal from kill is still pending");
	TST_EXP_EQ(sigtimedwait(&set, NULL, &zero), SIGUSR1, "take SIGUSR1 (it held a slot too)");
	TST_EXP_EQ(sigtimedwait(&set, NULL, &zero), SIGRTMIN, "take one real-time instance");
	TST_EXP_OK(sigqueue(getpid(), SIGRTMIN, (union sigval){ .sival_int = 0 }));
	return tst_exit();
}
