/* sigtimedwait/sigwaitinfo fill the siginfo: kill gives SI_USER with the
 * sender's pid and uid, sigqueue SI_QUEUE with its value, tgkill SI_TKILL (SI_USER on recent kernels);
 * the signal is consumed (no longer pending). */
// tst: static
#include "tst.h"

int main(void)
{
	sigset_t set, pend;
	siginfo_t si;
	struct timespec zero = { 0, 0 };
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);

	kill(getpid(), SIGUSR1);
	TST_EXP_EQ(sigwaitinfo(&set, &si), SIGUSR1, "sigwaitinfo returns the signal");
	TST_EXP_EQ(si.si_signo, SIGUSR1, "si_signo");
	TST_EXP_EQ(si.si_code, SI_USER, "kill: si_code SI_USER");
	TST_CHECK(si.si_pid == getpid() && si.si_uid == getuid(), "kill: si_pid and si_uid are the sender's");

	sigqueue(getpid(), SIGUSR2, (union sigval){ .sival_int = 4242 });
	TST_EXP_EQ(sigtimedwait(&set, &si, &zero), SIGUSR2, "sigtimedwait returns the queued signal");
	TST_EXP_EQ(si.si_code, SI_QUEUE, "sigqueue: si_code SI_QUEUE");
	TST_EXP_EQ(si.si_value.sival_int, 4242, "sigqueue: si_value");

	syscall(SYS_tgkill, getpid(), tst_gettid(), SIGUSR1);
	TST_EXP_EQ(sigtimedwait(&set, &si, &zero), SIGUSR1, "tgkill'd signal taken");
	/* SI_TKILL; kernels since 6.9 (pidfd thread signals) say SI_USER. */
	TST_CHECK(si.si_code == SI_TKILL || si.si_code == SI_USER, "tgkill: si_code SI_TKILL or SI_USER");
	TST_CHECK(si.si_pid == getpid(), "tgkill: si_pid is the sender");

	sigpending(&pend);
	TST_CHECK(!sigismember(&pend, SIGUSR1) && !sigismember(&pend, SIGUSR2), "nothing left pending");
	return tst_exit();
}
