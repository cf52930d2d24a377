/* setitimer/getitimer argument checks: an unknown timer is EINVAL, a
 * microsecond field of a million or more is EINVAL, a NULL new value
 * reads the old one (disarm on newer kernels is not probed). */
#include "tst.h"

int main(void)
{
	struct itimerval bad = { { 0, 0 }, { 0, 1000000 } }, ok = { { 0, 0 }, { 10, 0 } }, cur;
	TST_EXP_FAIL(setitimer(5, &ok, NULL), EINVAL);
	TST_EXP_FAIL(getitimer(5, &cur), EINVAL);
	TST_EXP_FAIL(setitimer(ITIMER_REAL, &bad, NULL), EINVAL);
	TST_EXP_FAIL(syscall(SYS_getitimer, ITIMER_REAL, (void *)8), EFAULT);
	TST_EXP_OK(setitimer(ITIMER_REAL, &ok, NULL));
	SAFE(getitimer(ITIMER_REAL, &cur));
	TST_CHECK(cur.it_value.tv_sec <= 10 && cur.it_value.tv_sec >= 9, "armed for about 10 s");
	TST_EXP_EQ(alarm(0), 10, "alarm sees the same ITIMER_REAL");
	return tst_exit();
}
