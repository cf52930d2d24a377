/* sigaction SA_NODEFER: without it the signal is blocked in its handler and
 * a second raise there is deferred until the handler returns; with it the
 * second raise nests at once. */
#include "tst.h"

static volatile int depth, maxdepth, blocked_inside, calls;

static void h(int sig)
{
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	if (calls == 0)
		blocked_inside = sigismember(&cur, sig);
	calls++;
	depth++;
	if (depth > maxdepth)
		maxdepth = depth;
	if (calls == 1)
		raise(sig);
	depth--;
}

static void run(int flags, int want_blocked, int want_depth)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sa.sa_flags = flags;
	SAFE(sigaction(SIGUSR1, &sa, NULL));
	depth = maxdepth = calls = 0;
	raise(SIGUSR1);
	TST_EXP_EQ(calls, 2, flags ? "SA_NODEFER: calls" : "default: calls");
	TST_EXP_EQ(blocked_inside, want_blocked, flags ? "SA_NODEFER: blocked inside" : "default: blocked inside");
	TST_EXP_EQ(maxdepth, want_depth, flags ? "SA_NODEFER: nesting depth" : "default: nesting depth");
}

int main(void)
{
	run(0, 1, 1);
	run(SA_NODEFER, 0, 2);
	return tst_exit();
}
