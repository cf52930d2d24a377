/* rt_sigqueueinfo: to oneself any si_code is accepted and delivered as
 * given; to another process a non-negative si_code (pretending to be the
 * kernel or kill) or SI_TKILL is EPERM, SI_QUEUE is allowed. */
#include "tst.h"

static long rsqi(pid_t pid, int sig, int code, int val)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_signo = sig;
	si.si_code = code;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = val;
	return syscall(SYS_rt_sigqueueinfo, pid, sig, &si);
}

int main(void)
{
	sigset_t set;
	siginfo_t si;
	struct timespec ts = { 5, 0 };
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &set, NULL);
	TST_EXP_OK(rsqi(getpid(), SIGRTMIN, SI_QUEUE, 11));
	TST_EXP_EQ(sigtimedwait(&set, &si, &ts), SIGRTMIN, "to self, SI_QUEUE");
	TST_CHECK(si.si_code == SI_QUEUE && si.si_value.sival_int == 11, "si_code and si_value as sent");
	TST_EXP_OK(rsqi(getpid(), SIGRTMIN, SI_KERNEL, 12));
	TST_EXP_EQ(sigtimedwait(&set, &si, &ts), SIGRTMIN, "to self, SI_KERNEL");
	TST_EXP_EQ(si.si_code, SI_KERNEL, "si_code as forged");

	pid_t p = tst_fork();
	if (p == 0) {
		TST_EXP_EQ(sigtimedwait(&set, &si, &ts), SIGRTMIN, "the child gets the SI_QUEUE one");
		TST_CHECK(si.si_value.sival_int == 13, "with its value");
		tst_child_exit();
	}
	TST_EXP_FAIL(rsqi(p, SIGRTMIN, SI_USER, 1), EPERM);
	TST_EXP_FAIL(rsqi(p, SIGRTMIN, SI_KERNEL, 1), EPERM);
	TST_EXP_FAIL(rsqi(p, SIGRTMIN, SI_TKILL, 1), EPERM);
	/* Reported after the child has, so the two never race for stdout. */
	long sent = rsqi(p, SIGRTMIN, SI_QUEUE, 13);
	tst_reap(p);
	TST_CHECK(sent == 0, "rsqi(p, SIGRTMIN, SI_QUEUE, 13) succeeded");
	return tst_exit();
}
