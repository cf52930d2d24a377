/* pidfd_send_signal: to a pidfd of oneself with no info it is SI_USER;
 * with an info (SI_QUEUE) its value arrives; to a child it kills; flags
 * are EINVAL, a non-pidfd EBADF, a forged code to another process EPERM,
 * an exited process ESRCH. */
#include "tst.h"

static int pidfd_open(pid_t pid) { return syscall(SYS_pidfd_open, pid, 0); }
static int send(int fd, int sig, siginfo_t *si, unsigned flags) { return syscall(SYS_pidfd_send_signal, fd, sig, si, flags); }

int main(void)
{
	int self = pidfd_open(getpid());
	if (self == -1 && errno == ENOSYS)
		tst_brk(TCONF, "no pidfd_open");
	SAFE(self);
	tst_sigaction(SIGUSR1, tst_handler, 0);
	TST_EXP_OK(send(self, SIGUSR1, NULL, 0));
	TST_EXP_EQ(tst_sig_info[SIGUSR1].si_code, SI_USER, "si_code without info");
	TST_CHECK(tst_sig_info[SIGUSR1].si_pid == getpid(), "si_pid");
	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_signo = SIGUSR1;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = 31;
	TST_EXP_OK(send(self, SIGUSR1, &si, 0));
	TST_EXP_EQ(tst_sig_info[SIGUSR1].si_value.sival_int, 31, "si_value with info");
	TST_EXP_FAIL(send(self, SIGUSR1, NULL, 0x100), EINVAL);
	TST_EXP_FAIL(send(0, SIGUSR1, NULL, 0), EBADF);
	TST_EXP_FAIL(send(99, SIGUSR1, NULL, 0), EBADF);
	pid_t pid = tst_fork();
	if (pid == 0) {
		for (;;)
			pause();
	}
	int fd = SAFE(pidfd_open(pid));
	si.si_code = SI_USER;
	TST_EXP_FAIL(send(fd, SIGUSR1, &si, 0), EPERM);
	TST_EXP_OK(send(fd, SIGTERM, NULL, 0));
	int st = tst_waitpid(pid, 0);
	TST_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "child %s", tst_strstatus(st));
	TST_EXP_FAIL(send(fd, SIGTERM, NULL, 0), ESRCH);
	return tst_exit();
}
