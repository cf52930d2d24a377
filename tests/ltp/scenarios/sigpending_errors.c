/* rt_sigpending: a bad pointer is EFAULT, a set size over 8 is EINVAL, a
 * smaller size is accepted (the kernel copies that many bytes). */
#include "tst.h"

int main(void)
{
	uint64_t set = ~0ULL;
	TST_EXP_FAIL(syscall(SYS_rt_sigpending, (void *)8, 8), EFAULT);
	TST_EXP_FAIL(syscall(SYS_rt_sigpending, &set, 16), EINVAL);
	tst_mask1(SIG_BLOCK, SIGHUP);
	raise(SIGHUP);
	set = ~0ULL;
	TST_EXP_OK(syscall(SYS_rt_sigpending, &set, 4));
	TST_CHECK(set == (0xffffffff00000000ULL | 1ULL << (SIGHUP - 1)), "4-byte set written, rest untouched");
	set = 0;
	TST_EXP_OK(syscall(SYS_rt_sigpending, &set, 8));
	TST_CHECK(set == 1ULL << (SIGHUP - 1), "8-byte set is SIGHUP only");
	return tst_exit();
}
