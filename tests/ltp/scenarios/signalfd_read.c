/* signalfd: a blocked pending signal is read as a signalfd_siginfo
 * (ssi_signo, ssi_code, ssi_pid, ssi_uid) and is consumed by the read; a
 * buffer smaller than one record is EINVAL. */
// tst: static
#include "tst.h"
#include <sys/signalfd.h>

int main(void)
{
	sigset_t set, pend;
	struct signalfd_siginfo r;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int fd = SAFE(signalfd(-1, &set, 0));
	kill(getpid(), SIGUSR1);
	TST_EXP_FAIL(read(fd, &r, sizeof r - 1), EINVAL);
	TST_EXP_EQ(read(fd, &r, sizeof r), sizeof r, "read returns one record");
	TST_EXP_EQ(r.ssi_signo, SIGUSR1, "ssi_signo");
	TST_EXP_EQ(r.ssi_code, SI_USER, "ssi_code");
	TST_CHECK(r.ssi_pid == (uint32_t)getpid() && r.ssi_uid == getuid(), "ssi_pid and ssi_uid are the sender's");
	sigpending(&pend);
	TST_CHECK(!sigismember(&pend, SIGUSR1), "the read consumed the signal");
	return tst_exit();
}
