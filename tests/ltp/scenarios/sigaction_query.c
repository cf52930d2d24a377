/* sigaction: the old action returned is the one installed before, with its
 * handler, flags and mask; SA_RESTORER aside, flags round-trip. */
#include "tst.h"

static void h1(int sig) { (void)sig; }

int main(void)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h1;
	sa.sa_flags = SA_RESTART | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	sigaddset(&sa.sa_mask, SIGRTMIN + 3);
	SAFE(sigaction(SIGUSR1, &sa, NULL));
	SAFE(sigaction(SIGUSR1, NULL, &old));
	TST_CHECK(old.sa_handler == h1, "handler read back");
	TST_CHECK((old.sa_flags & (SA_RESTART | SA_NODEFER | SA_SIGINFO | SA_ONSTACK | SA_RESETHAND)) ==
			  (SA_RESTART | SA_NODEFER), "flags read back");
	TST_CHECK(sigismember(&old.sa_mask, SIGUSR2) && sigismember(&old.sa_mask, SIGRTMIN + 3) &&
			  !sigismember(&old.sa_mask, SIGINT), "mask read back");
	SAFE(sigaction(SIGUSR2, NULL, &old));
	TST_CHECK(old.sa_handler == SIG_DFL, "untouched signal is SIG_DFL");
	return tst_exit();
}
