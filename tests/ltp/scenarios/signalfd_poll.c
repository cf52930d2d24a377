/* poll and select on a signalfd: not readable with nothing pending,
 * readable once a signal of its mask is pending (sent before or during
 * the poll), not readable for a signal outside its mask. */
#include "tst.h"
#include <poll.h>
#include <sys/signalfd.h>

int main(void)
{
	sigset_t set;
	struct signalfd_siginfo r;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigdelset(&set, SIGUSR2);
	int fd = SAFE(signalfd(-1, &set, 0));
	struct pollfd p = { fd, POLLIN, 0 };
	TST_EXP_EQ(poll(&p, 1, 0), 0, "nothing pending: not readable");
	raise(SIGUSR2);
	TST_EXP_EQ(poll(&p, 1, 0), 0, "a signal outside the mask: not readable");
	raise(SIGUSR1);
	TST_EXP_EQ(poll(&p, 1, 0), 1, "a pending signal of the mask: readable");
	TST_CHECK(p.revents == POLLIN, "revents is POLLIN");
	read(fd, &r, sizeof r);
	pid_t parent = getpid();
	pid_t child = tst_fork();
	if (child == 0) {
		tst_sleep_ms(20);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	TST_EXP_EQ(poll(&p, 1, 5000), 1, "a signal sent during poll wakes it");
	fd_set rs;
	FD_ZERO(&rs);
	FD_SET(fd, &rs);
	TST_EXP_EQ(select(fd + 1, &rs, NULL, NULL, NULL), 1, "select sees it too");
	tst_waitpid(child, 0);
	return tst_exit();
}
