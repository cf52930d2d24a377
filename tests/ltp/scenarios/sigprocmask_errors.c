/* rt_sigprocmask errors: an unknown `how` is EINVAL (with a set), a size
 * other than 8 is EINVAL, bad pointers are EFAULT; only the bad old-set
 * pointer leaves the change made (the kernel applies it, then copies out). */
#include "tst.h"

int main(void)
{
	uint64_t set = 1ULL << (SIGUSR1 - 1), old;
	TST_EXP_FAIL(syscall(SYS_rt_sigprocmask, 3, &set, NULL, 8), EINVAL);
	TST_EXP_FAIL(syscall(SYS_rt_sigprocmask, -1, &set, NULL, 8), EINVAL);
	TST_EXP_FAIL(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, 4), EINVAL);
	TST_EXP_FAIL(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, 16), EINVAL);
	TST_EXP_FAIL(syscall(SYS_rt_sigprocmask, SIG_BLOCK, (void *)8, NULL, 8), EFAULT);
	TST_EXP_FAIL(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, (void *)8, 8), EFAULT);
	TST_EXP_OK(syscall(SYS_rt_sigprocmask, 99, NULL, &old, 8));
	SAFE(syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &old, 8));
	TST_EXP_EQ(old, 1ULL << (SIGUSR1 - 1), "mask after the failed calls");
	return tst_exit();
}
