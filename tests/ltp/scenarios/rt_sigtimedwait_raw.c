/* rt_sigtimedwait called directly: the sigset size must be 8 (EINVAL
 * otherwise), a NULL timeout waits, an unreadable set is EFAULT, and the
 * kernel's siginfo is written whole. */
#include "tst.h"

int main(void)
{
	uint64_t set = 1ULL << (SIGUSR1 - 1);
	struct timespec zero = { 0, 0 };
	siginfo_t si;
	sigset_t b;
	sigemptyset(&b);
	sigaddset(&b, SIGUSR1);
	sigprocmask(SIG_BLOCK, &b, NULL);

	TST_EXP_FAIL(syscall(SYS_rt_sigtimedwait, &set, NULL, &zero, 4), EINVAL);
	TST_EXP_FAIL(syscall(SYS_rt_sigtimedwait, &set, NULL, &zero, 16), EINVAL);
	TST_EXP_FAIL(syscall(SYS_rt_sigtimedwait, (void *)8, NULL, &zero, 8), EFAULT);
	TST_EXP_FAIL(syscall(SYS_rt_sigtimedwait, &set, NULL, &zero, 8), EAGAIN);
	raise(SIGUSR1);
	memset(&si, 0x5a, sizeof si);
	TST_EXP_EQ(syscall(SYS_rt_sigtimedwait, &set, &si, NULL, 8), SIGUSR1, "untimed wait with the signal pending");
	TST_EXP_EQ(si.si_signo, SIGUSR1, "si_signo");
	TST_EXP_EQ(si.si_errno, 0, "si_errno");
	return tst_exit();
}
