/* A signalfd does not take signals that are not blocked: with the signal
 * unblocked the handler runs and the signalfd stays empty; and a signalfd
 * sees only the signals of its own thread and process. */
#include "tst.h"
#include <sys/signalfd.h>

int main(void)
{
	sigset_t set;
	struct signalfd_siginfo r;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	tst_sigaction(SIGUSR1, tst_handler, 0);
	int fd = SAFE(signalfd(-1, &set, SFD_NONBLOCK));
	raise(SIGUSR1);
	TST_EXP_EQ(tst_sig_count[SIGUSR1], 1, "an unblocked signal runs its handler");
	TST_EXP_FAIL(read(fd, &r, sizeof r), EAGAIN);
	sigprocmask(SIG_BLOCK, &set, NULL);
	pid_t child = tst_fork();
	if (child == 0) {
		raise(SIGUSR1);
		_exit(0);
	}
	tst_waitpid(child, 0);
	TST_EXP_FAIL(read(fd, &r, sizeof r), EAGAIN);
	return tst_exit();
}
