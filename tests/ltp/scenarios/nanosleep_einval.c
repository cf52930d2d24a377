/* nanosleep argument checks: nanoseconds outside [0, 999999999] or a
 * negative second count are EINVAL, a zero sleep returns 0, an unreadable
 * request is EFAULT. */
#include "tst.h"

int main(void)
{
	struct timespec big = { 0, 1000000000L }, neg = { -1, 0 }, negns = { 0, -1 }, zero = { 0, 0 };
	TST_EXP_FAIL(nanosleep(&big, NULL), EINVAL);
	TST_EXP_FAIL(nanosleep(&neg, NULL), EINVAL);
	TST_EXP_FAIL(nanosleep(&negns, NULL), EINVAL);
	TST_EXP_FAIL(syscall(SYS_nanosleep, (void *)8, NULL), EFAULT);
	TST_EXP_OK(nanosleep(&zero, NULL));
	return tst_exit();
}
