/* execve: handled signals reset to SIG_DFL, ignored ones stay ignored, the
 * mask and the pending set (a blocked pending signal) are kept; flags of
 * a handled signal are cleared, the alternate stack is disabled. */
// tst: static
#include "tst.h"

static void h(int sig) { (void)sig; }

static int after_exec(void)
{
	struct sigaction a;
	sigaction(SIGUSR1, NULL, &a);
	TST_CHECK(a.sa_handler == SIG_DFL, "handled signal reset to SIG_DFL");
	sigaction(SIGUSR2, NULL, &a);
	TST_CHECK(a.sa_handler == SIG_IGN, "ignored signal still ignored");
	sigaction(SIGRTMIN + 1, NULL, &a);
	TST_CHECK(a.sa_handler == SIG_DFL, "handled real-time signal reset");
	sigset_t cur, p;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	TST_CHECK(sigismember(&cur, SIGHUP) && sigismember(&cur, SIGRTMIN) && !sigismember(&cur, SIGUSR1), "mask kept");
	sigpending(&p);
	TST_CHECK(sigismember(&p, SIGHUP), "blocked pending SIGHUP still pending");
	TST_CHECK(sigismember(&p, SIGRTMIN), "queued SIGRTMIN still pending");
	stack_t ss;
	sigaltstack(NULL, &ss);
	TST_EXP_EQ(ss.ss_flags, SS_DISABLE, "alternate stack after exec");
	return tst_exit();
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "after-exec") == 0)
		return after_exec();
	static char alt[32 * 1024];
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt };
	SAFE(sigaltstack(&ss, NULL));
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sa.sa_flags = SA_ONSTACK | SA_RESTART;
	SAFE(sigaction(SIGUSR1, &sa, NULL));
	SAFE(sigaction(SIGRTMIN + 1, &sa, NULL));
	tst_signal(SIGUSR2, SIG_IGN);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGHUP);
	sigaddset(&s, SIGRTMIN);
	SAFE(sigprocmask(SIG_BLOCK, &s, NULL));
	raise(SIGHUP);
	sigqueue(getpid(), SIGRTMIN, (union sigval){ 3 });
	char *args[] = { argv[0], "after-exec", NULL };
	execv(argv[0], args);
	tst_brk(TBROK, "execv failed: %s", tst_errname(errno));
}
