/* signal(): glibc's BSD semantics: the handler stays installed after a
 * delivery, the signal is blocked while it runs, and SA_RESTART is set. */
#include "tst.h"

static volatile int calls, blocked;

static void h(int sig)
{
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	blocked = sigismember(&cur, sig);
	calls++;
}

int main(void)
{
	TST_CHECK(signal(SIGUSR1, h) == SIG_DFL, "previous disposition SIG_DFL");
	raise(SIGUSR1);
	raise(SIGUSR1);
	TST_EXP_EQ(calls, 2, "handler calls");
	TST_CHECK(blocked, "signal blocked in its handler");
	struct sigaction old;
	sigaction(SIGUSR1, NULL, &old);
	TST_CHECK(old.sa_handler == h, "handler still installed");
	TST_CHECK((old.sa_flags & SA_RESTART) && !(old.sa_flags & (SA_RESETHAND | SA_NODEFER)), "SA_RESTART, not one-shot");
	return tst_exit();
}
