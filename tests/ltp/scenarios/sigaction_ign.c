/* sigaction SIG_IGN: the old action comes back; an ignored signal sent by
 * kill, raise or sigqueue does nothing and is not left pending. */
#include "tst.h"

static void h(int sig) { (void)sig; }

int main(void)
{
	struct sigaction sa, old;
	tst_signal(SIGTERM, h);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	SAFE(sigaction(SIGTERM, &sa, &old));
	TST_CHECK(old.sa_handler == h, "old action is the handler");
	kill(getpid(), SIGTERM);
	raise(SIGTERM);
	union sigval v = { .sival_int = 1 };
	sigqueue(getpid(), SIGTERM, v);
	tst_res(TPASS, "ignored SIGTERM did not terminate");
	sigset_t p;
	sigpending(&p);
	TST_CHECK(!sigismember(&p, SIGTERM), "ignored signal not pending");
	SAFE(sigaction(SIGRTMIN + 2, &sa, NULL));
	sigqueue(getpid(), SIGRTMIN + 2, v);
	tst_res(TPASS, "ignored real-time signal did not terminate");
	return tst_exit();
}
