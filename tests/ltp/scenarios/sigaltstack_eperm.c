/* sigaltstack while running on the alternate stack: changing it is EPERM,
 * querying works and says SS_ONSTACK. */
#include "tst.h"

static char alt[64 * 1024];
static volatile int err = -1, qflags = -1;

static void h(int sig)
{
	(void)sig;
	static char other[64 * 1024];
	stack_t ss = { .ss_sp = other, .ss_size = sizeof other };
	err = sigaltstack(&ss, NULL) == -1 ? errno : 0;
	stack_t dis = { .ss_flags = SS_DISABLE };
	if (sigaltstack(&dis, NULL) == 0)
		err = 1000;
	stack_t q;
	sigaltstack(NULL, &q);
	qflags = q.ss_flags;
}

int main(void)
{
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt };
	SAFE(sigaltstack(&ss, NULL));
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sa.sa_flags = SA_ONSTACK;
	SAFE(sigaction(SIGUSR1, &sa, NULL));
	raise(SIGUSR1);
	TST_CHECK(err == EPERM, "change while on the stack: %s, want EPERM", tst_errname(err < 1000 ? err : 0));
	TST_EXP_EQ(qflags, SS_ONSTACK, "query while on the stack");
	stack_t q;
	SAFE(sigaltstack(NULL, &q));
	TST_CHECK(q.ss_sp == alt && q.ss_size == sizeof alt, "the stack is unchanged after");
	return tst_exit();
}
