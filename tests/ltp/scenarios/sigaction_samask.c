/* sigaction sa_mask: the signals of sa_mask are blocked while the handler
 * runs (added to the thread's mask) and unblocked again after it; one sent
 * inside the handler is delivered right after the handler returns. */
#include "tst.h"

static volatile int usr2_blocked, usr2_count_inside, order[4], n;

static void h1(int sig)
{
	(void)sig;
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	usr2_blocked = sigismember(&cur, SIGUSR2) && sigismember(&cur, SIGHUP);
	raise(SIGUSR2);
	usr2_count_inside = n;
	order[n++] = 1;
}

static void h2(int sig)
{
	(void)sig;
	order[n++] = 2;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h1;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	sigaddset(&sa.sa_mask, SIGHUP);
	SAFE(sigaction(SIGUSR1, &sa, NULL));
	tst_signal(SIGUSR2, h2);
	raise(SIGUSR1);
	TST_CHECK(usr2_blocked, "sa_mask signals blocked in the handler");
	TST_EXP_EQ(usr2_count_inside, 0, "SIGUSR2 not delivered inside");
	TST_EXP_EQ(n, 2, "both handlers ran");
	TST_CHECK(order[0] == 1 && order[1] == 2, "SIGUSR2 delivered after SIGUSR1's handler");
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	TST_CHECK(!sigismember(&cur, SIGUSR2) && !sigismember(&cur, SIGHUP), "mask restored after");
	return tst_exit();
}
