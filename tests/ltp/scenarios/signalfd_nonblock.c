/* signalfd4 flags: SFD_NONBLOCK makes an empty read EAGAIN, SFD_CLOEXEC
 * sets FD_CLOEXEC, other flags are EINVAL; signalfd on an existing fd
 * replaces its mask (and a non-signalfd fd is EINVAL). */
#include "tst.h"
#include <sys/signalfd.h>

int main(void)
{
	sigset_t s1, s2;
	struct signalfd_siginfo r;
	sigemptyset(&s1);
	sigaddset(&s1, SIGUSR1);
	sigemptyset(&s2);
	sigaddset(&s2, SIGUSR2);
	sigprocmask(SIG_BLOCK, &s1, NULL);
	sigprocmask(SIG_BLOCK, &s2, NULL);
	int fd = SAFE(signalfd(-1, &s1, SFD_NONBLOCK | SFD_CLOEXEC));
	TST_EXP_FAIL(read(fd, &r, sizeof r), EAGAIN);
	TST_CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC, "SFD_CLOEXEC sets FD_CLOEXEC");
	TST_CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK, "SFD_NONBLOCK sets O_NONBLOCK");
	TST_EXP_FAIL(signalfd(-1, &s1, 0x4000000), EINVAL);
	TST_EXP_FAIL(signalfd(0, &s1, 0), EINVAL);
	TST_EXP_EQ(signalfd(fd, &s2, 0), fd, "signalfd on the fd returns it");
	raise(SIGUSR1);
	TST_EXP_FAIL(read(fd, &r, sizeof r), EAGAIN);
	raise(SIGUSR2);
	TST_EXP_EQ(read(fd, &r, sizeof r), sizeof r, "the new mask's signal is read");
	TST_EXP_EQ(r.ssi_signo, SIGUSR2, "ssi_signo");
	return tst_exit();
}
