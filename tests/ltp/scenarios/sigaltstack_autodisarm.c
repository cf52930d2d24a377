/* SS_AUTODISARM: while a handler runs on the alternate stack the stack is
 * disarmed (sigaltstack reports it disabled; a nested signal's frame goes
 * on below the current one instead of restarting at the top of the stack),
 * and it is re-armed at sigreturn. */
#include "tst.h"

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif

static char alt[64 * 1024];
static volatile int inside_flags = -1, nested_on_alt = -1, depth;
static volatile uintptr_t outer_sp, nested_sp;

static int on_alt(void)
{
	char here;
	return &here >= alt && &here < alt + sizeof alt;
}

static void h(int sig)
{
	char here;
	if (depth++ == 0) {
		outer_sp = (uintptr_t)&here;
		stack_t q;
		sigaltstack(NULL, &q);
		inside_flags = q.ss_flags;
		raise(sig);
	} else {
		nested_on_alt = on_alt();
		nested_sp = (uintptr_t)&here;
	}
}

int main(void)
{
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt, .ss_flags = SS_AUTODISARM };
	if (sigaltstack(&ss, NULL) == -1 && errno == EINVAL)
		tst_brk(TCONF, "SS_AUTODISARM not supported");
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sa.sa_flags = SA_ONSTACK | SA_NODEFER;
	SAFE(sigaction(SIGUSR1, &sa, NULL));
	raise(SIGUSR1);
	TST_EXP_EQ(inside_flags, SS_DISABLE, "ss_flags inside the handler");
	TST_EXP_EQ(nested_on_alt, 1, "nested handler still within the alternate stack's memory");
	TST_CHECK(nested_sp < outer_sp, "nested frame below the outer one (not from the top)");
	stack_t q;
	SAFE(sigaltstack(NULL, &q));
	TST_CHECK(q.ss_sp == alt && (unsigned)q.ss_flags == SS_AUTODISARM, "re-armed after sigreturn");
	return tst_exit();
}
