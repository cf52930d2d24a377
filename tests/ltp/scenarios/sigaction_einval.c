/* sigaction: SIGKILL and SIGSTOP cannot be caught or ignored, signal numbers
 * outside 1..64 are EINVAL; querying SIGKILL is allowed. */
#include "tst.h"

static void h(int sig) { (void)sig; }

int main(void)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	TST_EXP_FAIL(sigaction(SIGKILL, &sa, NULL), EINVAL);
	TST_EXP_FAIL(sigaction(SIGSTOP, &sa, NULL), EINVAL);
	sa.sa_handler = SIG_IGN;
	TST_EXP_FAIL(sigaction(SIGKILL, &sa, NULL), EINVAL);
	TST_EXP_FAIL(sigaction(SIGSTOP, &sa, NULL), EINVAL);
	TST_EXP_FAIL(syscall(SYS_rt_sigaction, 0, &sa, NULL, 8), EINVAL);
	TST_EXP_FAIL(syscall(SYS_rt_sigaction, 65, &sa, NULL, 8), EINVAL);
	TST_EXP_FAIL(syscall(SYS_rt_sigaction, SIGUSR1, NULL, &old, 4), EINVAL);
	TST_EXP_FAIL(syscall(SYS_rt_sigaction, SIGUSR1, (void *)8, NULL, 8), EFAULT);
	TST_EXP_FAIL(syscall(SYS_rt_sigaction, SIGUSR1, NULL, (void *)8, 8), EFAULT);
	TST_EXP_OK(sigaction(SIGKILL, NULL, &old));
	TST_CHECK(old.sa_handler == SIG_DFL, "SIGKILL reads back as SIG_DFL");
	return tst_exit();
}
