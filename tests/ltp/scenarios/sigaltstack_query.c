/* sigaltstack: the initial state is SS_DISABLE; a stack set reads back with
 * its base and size; SS_DISABLE disables it and SA_ONSTACK handlers then
 * run on the normal stack; old values come back in oss. */
#include "tst.h"

static char alt[32 * 1024];
static volatile int on_alt = -1;

static void h(int sig)
{
	(void)sig;
	char here;
	on_alt = &here >= alt && &here < alt + sizeof alt;
}

int main(void)
{
	stack_t q;
	SAFE(sigaltstack(NULL, &q));
	TST_EXP_EQ(q.ss_flags, SS_DISABLE, "initial ss_flags");
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt };
	stack_t old;
	SAFE(sigaltstack(&ss, &old));
	TST_EXP_EQ(old.ss_flags, SS_DISABLE, "oss of the first set");
	SAFE(sigaltstack(NULL, &q));
	TST_CHECK(q.ss_sp == alt && q.ss_size == sizeof alt && q.ss_flags == 0, "set stack reads back");
	stack_t dis = { .ss_flags = SS_DISABLE };
	SAFE(sigaltstack(&dis, &old));
	TST_CHECK(old.ss_sp == alt && old.ss_flags == 0, "oss of the disabling call is the old stack");
	SAFE(sigaltstack(NULL, &q));
	TST_EXP_EQ(q.ss_flags, SS_DISABLE, "ss_flags after SS_DISABLE");
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sa.sa_flags = SA_ONSTACK;
	SAFE(sigaction(SIGUSR1, &sa, NULL));
	raise(SIGUSR1);
	TST_EXP_EQ(on_alt, 0, "SA_ONSTACK handler with a disabled stack runs on the normal stack");
	return tst_exit();
}
