/* Standard signals coalesce per queue: sent three times to the process
 * while blocked, delivered once; a thread-directed instance (raise) sits in
 * the thread's own queue, so it is one more delivery, not coalesced with
 * the process one. */
#include "tst.h"

static volatile int n, codes[8];

static void h(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)uc;
	if (n < 8)
		codes[n] = info->si_code;
	n++;
}

int main(void)
{
	tst_sigaction(SIGUSR2, h, 0);
	tst_mask1(SIG_BLOCK, SIGUSR2);
	kill(getpid(), SIGUSR2);
	kill(getpid(), SIGUSR2);
	sigqueue(getpid(), SIGUSR2, (union sigval){ .sival_int = 7 });
	tst_mask1(SIG_UNBLOCK, SIGUSR2);
	TST_EXP_EQ(n, 1, "deliveries of SIGUSR2 sent 3 times to the process");
	TST_EXP_EQ(codes[0], SI_USER, "the first instance (kill) is the one kept");
	n = 0;
	tst_mask1(SIG_BLOCK, SIGUSR2);
	raise(SIGUSR2);
	raise(SIGUSR2);
	kill(getpid(), SIGUSR2);
	tst_mask1(SIG_UNBLOCK, SIGUSR2);
	TST_EXP_EQ(n, 2, "deliveries with thread and process instances");
	TST_CHECK(n == 2 && ((codes[0] == SI_TKILL && codes[1] == SI_USER) || (codes[0] == SI_USER && codes[1] == SI_TKILL)),
		  "one SI_TKILL, one SI_USER");
	TST_EXP_EQ(codes[0], SI_TKILL, "the thread queue is served first");
	return tst_exit();
}
