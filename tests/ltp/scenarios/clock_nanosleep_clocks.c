/* clock_nanosleep: returns the error number (not -1/errno); REALTIME,
 * MONOTONIC, BOOTTIME and TAI sleep; a thread CPU clock is EINVAL, an
 * unknown clock EINVAL, bad nanoseconds EINVAL, unknown flags EINVAL. */
#include "tst.h"

int main(void)
{
	static const struct { clockid_t id; const char *name; int err; } c[] = {
		{ CLOCK_REALTIME, "CLOCK_REALTIME", 0 },
		{ CLOCK_MONOTONIC, "CLOCK_MONOTONIC", 0 },
		{ CLOCK_BOOTTIME, "CLOCK_BOOTTIME", 0 },
		{ CLOCK_TAI, "CLOCK_TAI", 0 },
		{ CLOCK_THREAD_CPUTIME_ID, "CLOCK_THREAD_CPUTIME_ID", EINVAL },
		{ 77, "clock 77", EINVAL },
	};
	struct timespec ts = { 0, 1000000 }, bad = { 0, 1000000000L };
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		int e = clock_nanosleep(c[i].id, 0, &ts, NULL);
		TST_CHECK(e == c[i].err, "%s: %s", c[i].name, tst_errname(c[i].err));
	}
	TST_EXP_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL), EINVAL, "bad nanoseconds");
	TST_EXP_FAIL(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &bad, NULL), EINVAL);
	return tst_exit();
}
