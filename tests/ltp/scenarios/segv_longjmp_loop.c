/* 2000 faults, each caught and left by siglongjmp (mask saved): every one
 * is caught, SIGSEGV is unblocked afterwards, and the stack does not grow. */
// tst: static
#include "tst.h"

static sigjmp_buf env;
static volatile int caught;

static void h(int sig)
{
	(void)sig;
	caught++;
	siglongjmp(env, 1);
}

int main(void)
{
	tst_signal(SIGSEGV, h);
	volatile uintptr_t first_sp = 0, last_sp = 0;
	for (int i = 0; i < 2000; i++) {
		volatile char here;
		if (sigsetjmp(env, 1) == 0) {
			if (i == 0)
				first_sp = (uintptr_t)&here;
			last_sp = (uintptr_t)&here;
			*(volatile int *)(uintptr_t)(8 + i) = i;
		}
	}
	TST_EXP_EQ(caught, 2000, "faults caught");
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	TST_CHECK(!sigismember(&cur, SIGSEGV), "SIGSEGV unblocked after the last siglongjmp");
	TST_CHECK(first_sp == last_sp, "stack pointer unchanged");
	return tst_exit();
}
