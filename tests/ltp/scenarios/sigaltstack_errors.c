/* sigaltstack errors: a size below MINSIGSTKSZ is ENOMEM, unknown flags are
 * EINVAL, bad pointers EFAULT; a failed call changes nothing. */
#include "tst.h"

static char alt[32 * 1024];

int main(void)
{
	stack_t small = { .ss_sp = alt, .ss_size = 1024 };
	TST_EXP_FAIL(sigaltstack(&small, NULL), ENOMEM);
	stack_t badflags = { .ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0x1234 };
	TST_EXP_FAIL(sigaltstack(&badflags, NULL), EINVAL);
	stack_t onstack = { .ss_sp = alt, .ss_size = sizeof alt, .ss_flags = SS_ONSTACK };
	TST_EXP_OK(sigaltstack(&onstack, NULL));
	TST_EXP_FAIL(syscall(SYS_sigaltstack, (void *)8, NULL), EFAULT);
	TST_EXP_FAIL(syscall(SYS_sigaltstack, NULL, (void *)8), EFAULT);
	stack_t q;
	SAFE(sigaltstack(NULL, &q));
	TST_CHECK(q.ss_sp == alt && q.ss_flags == 0, "failed calls left the stack as set");
	return tst_exit();
}
