/* sigtimedwait: with nothing pending it fails with EAGAIN once the timeout
 * has passed (and not before); a zero timeout polls; a bad timespec is
 * EINVAL. */
#include "tst.h"

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int main(void)
{
	sigset_t set;
	struct timespec ts = { 0, 50000000 }, zero = { 0, 0 }, bad = { 0, 1000000000L };
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);

	long t0 = now_ms();
	TST_EXP_FAIL(sigtimedwait(&set, NULL, &ts), EAGAIN);
	TST_CHECK(now_ms() - t0 >= 49, "the 50 ms timeout is waited out");
	TST_EXP_FAIL(sigtimedwait(&set, NULL, &zero), EAGAIN);
	TST_EXP_FAIL(sigtimedwait(&set, NULL, &bad), EINVAL);
	raise(SIGUSR1);
	TST_EXP_EQ(sigtimedwait(&set, NULL, &zero), SIGUSR1, "a pending signal is taken with a zero timeout");
	TST_EXP_FAIL(sigtimedwait(&set, NULL, &zero), EAGAIN);
	return tst_exit();
}
