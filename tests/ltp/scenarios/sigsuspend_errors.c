/* rt_sigsuspend: a bad mask pointer is EFAULT, a size other than 8 EINVAL,
 * without waiting. */
#include "tst.h"

int main(void)
{
	uint64_t none = 0;
	TST_EXP_FAIL(syscall(SYS_rt_sigsuspend, (void *)8, 8), EFAULT);
	TST_EXP_FAIL(syscall(SYS_rt_sigsuspend, &none, 4), EINVAL);
	TST_EXP_FAIL(syscall(SYS_rt_sigsuspend, &none, 16), EINVAL);
	return tst_exit();
}
