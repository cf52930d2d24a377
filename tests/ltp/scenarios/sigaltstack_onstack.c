/* sigaltstack + SA_ONSTACK: the handler runs on the alternate stack, which
 * sigaltstack reports as SS_ONSTACK while it runs and not after; a handler
 * without SA_ONSTACK runs on the normal stack. */
// tst: static
#include "tst.h"

static char *alt;
static const size_t altsize = 64 * 1024;
static volatile int on_alt, flags_inside;

static void h(int sig)
{
	(void)sig;
	char here;
	on_alt = &here >= alt && &here < alt + altsize;
	stack_t cur;
	sigaltstack(NULL, &cur);
	flags_inside = cur.ss_flags;
}

int main(void)
{
	alt = malloc(altsize);
	stack_t ss = { .ss_sp = alt, .ss_size = altsize, .ss_flags = 0 };
	SAFE(sigaltstack(&ss, NULL));
	tst_signal(SIGUSR2, h);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sa.sa_flags = SA_ONSTACK;
	SAFE(sigaction(SIGUSR1, &sa, NULL));
	raise(SIGUSR1);
	TST_CHECK(on_alt, "SA_ONSTACK handler runs on the alternate stack");
	TST_EXP_EQ(flags_inside, SS_ONSTACK, "ss_flags inside the handler");
	stack_t cur;
	SAFE(sigaltstack(NULL, &cur));
	TST_EXP_EQ(cur.ss_flags, 0, "ss_flags after the handler");
	raise(SIGUSR2);
	TST_CHECK(!on_alt, "handler without SA_ONSTACK runs on the normal stack");
	TST_EXP_EQ(flags_inside, 0, "ss_flags in a handler on the normal stack");
	return tst_exit();
}
