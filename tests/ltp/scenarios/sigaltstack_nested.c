/* Two signals nested on the alternate stack: the inner frame lies below the
 * outer one, both inside the stack, and the outer handler resumes intact. */
#include "tst.h"

static char alt[128 * 1024];
static volatile uintptr_t outer_sp, inner_sp;
static volatile int outer_done;

static void inner(int sig)
{
	(void)sig;
	char here;
	inner_sp = (uintptr_t)&here;
}

static void outer(int sig)
{
	(void)sig;
	volatile char here = 42;
	outer_sp = (uintptr_t)&here;
	raise(SIGUSR2);
	outer_done = here == 42;
}

int main(void)
{
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt };
	SAFE(sigaltstack(&ss, NULL));
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_flags = SA_ONSTACK;
	sa.sa_handler = outer;
	SAFE(sigaction(SIGUSR1, &sa, NULL));
	sa.sa_handler = inner;
	SAFE(sigaction(SIGUSR2, &sa, NULL));
	raise(SIGUSR1);
	uintptr_t lo = (uintptr_t)alt, hi = lo + sizeof alt;
	TST_CHECK(outer_sp >= lo && outer_sp < hi, "outer handler on the alternate stack");
	TST_CHECK(inner_sp >= lo && inner_sp < hi, "inner handler on the alternate stack");
	TST_CHECK(inner_sp < outer_sp, "inner frame below the outer one");
	TST_CHECK(outer_done, "outer handler resumed with its locals intact");
	return tst_exit();
}
