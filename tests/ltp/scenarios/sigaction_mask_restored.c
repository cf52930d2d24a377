/* A handler that changes its own mask with sigprocmask: the change is
 * undone at sigreturn, which restores the mask saved in the frame. */
#include "tst.h"

static void h(int sig)
{
	(void)sig;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGINT);
	sigaddset(&s, SIGRTMIN + 1);
	sigprocmask(SIG_BLOCK, &s, NULL);
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
}

int main(void)
{
	tst_signal(SIGUSR1, h);
	tst_mask1(SIG_BLOCK, SIGUSR2);
	raise(SIGUSR1);
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	TST_CHECK(!sigismember(&cur, SIGINT), "SIGINT blocked in the handler is unblocked after");
	TST_CHECK(!sigismember(&cur, SIGRTMIN + 1), "SIGRTMIN+1 unblocked after");
	TST_CHECK(sigismember(&cur, SIGUSR2), "SIGUSR2 unblocked in the handler is blocked again");
	TST_CHECK(!sigismember(&cur, SIGUSR1), "SIGUSR1 itself unblocked after");
	return tst_exit();
}
