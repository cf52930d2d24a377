/* Stack overflow: endless recursion faults on the guard page; a SIGSEGV
 * handler on the alternate stack catches it and siglongjmps out, twice. */
// tst: static
#include "tst.h"

#pragma GCC diagnostic ignored "-Winfinite-recursion"

static sigjmp_buf env;
static volatile int caught;
static char alt[64 * 1024];

static void h(int sig)
{
	(void)sig;
	caught++;
	siglongjmp(env, 1);
}

static int recurse(volatile char *p)
{
	volatile char buf[1024];
	buf[0] = *p;
	return recurse(buf) + buf[1];
}

int main(void)
{
	struct rlimit rl = { 1 << 20, 1 << 20 };
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt };
	SAFE(sigaltstack(&ss, NULL));
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sa.sa_flags = SA_ONSTACK;
	SAFE(sigaction(SIGSEGV, &sa, NULL));
	pid_t pid = tst_fork();
	if (pid == 0) {
		SAFE(setrlimit(RLIMIT_STACK, &rl));
		for (int i = 0; i < 2; i++) {
			char c = 0;
			if (sigsetjmp(env, 1) == 0)
				recurse(&c);
		}
		TST_EXP_EQ(caught, 2, "overflows caught on the alternate stack");
		sigset_t cur;
		sigprocmask(SIG_BLOCK, NULL, &cur);
		TST_CHECK(!sigismember(&cur, SIGSEGV), "SIGSEGV unblocked after siglongjmp");
		tst_child_exit();
	}
	tst_reap(pid);
	return tst_exit();
}
