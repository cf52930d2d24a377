/* rt_sigqueueinfo: to oneself any si_code is accepted and delivered as
 * given; to another process a si_code >= 0 (pretending to be the kernel)
 * or SI_TKILL is EPERM, while a negative one (SI_QUEUE) is allowed. */
#include "tst.h"

static int q(pid_t pid, int sig, int code, int value)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_signo = sig;
	si.si_code = code;
	si.si_pid = 4242;
	si.si_uid = 77;
	si.si_value.sival_int = value;
	return syscall(SYS_rt_sigqueueinfo, pid, sig, &si);
}

int main(void)
{
	tst_sigaction(SIGUSR1, tst_handler, 0);
	TST_EXP_OK(q(getpid(), SIGUSR1, SI_KERNEL, 1));
	TST_EXP_EQ(tst_sig_info[SIGUSR1].si_code, SI_KERNEL, "forged si_code to self kept");
	TST_EXP_EQ(tst_sig_info[SIGUSR1].si_pid, 4242, "forged si_pid to self kept");
	TST_EXP_OK(q(getpid(), SIGUSR1, SI_QUEUE, 2));
	TST_EXP_EQ(tst_sig_info[SIGUSR1].si_uid, 77, "si_uid as given");
	pid_t pid = tst_fork();
	if (pid == 0) {
		signal(SIGUSR1, SIG_IGN);
		for (;;)
			pause();
	}
	TST_EXP_FAIL(q(pid, SIGUSR1, SI_USER, 0), EPERM);
	TST_EXP_FAIL(q(pid, SIGUSR1, SI_KERNEL, 0), EPERM);
	TST_EXP_FAIL(q(pid, SIGUSR1, SI_TKILL, 0), EPERM);
	TST_EXP_FAIL(q(pid, SIGUSR1, 5, 0), EPERM);
	TST_EXP_OK(q(pid, SIGUSR1, SI_QUEUE, 0));
	SAFE(kill(pid, SIGKILL));
	tst_waitpid(pid, 0);
	TST_EXP_FAIL(q(pid, SIGUSR1, SI_QUEUE, 0), ESRCH);
	TST_EXP_FAIL(q(getpid(), 65, SI_QUEUE, 0), EINVAL);
	TST_EXP_FAIL(syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, (void *)8), EFAULT);
	return tst_exit();
}
