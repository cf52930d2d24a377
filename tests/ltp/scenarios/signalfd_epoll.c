/* epoll on a signalfd: EPOLLIN once a signal of its mask is pending (level
 * triggered: until it is read), and epoll_wait wakes for one sent during
 * the wait. */
#include "tst.h"
#include <sys/epoll.h>
#include <sys/signalfd.h>

int main(void)
{
	sigset_t set;
	struct signalfd_siginfo r;
	struct epoll_event ev = { .events = EPOLLIN }, out;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int fd = SAFE(signalfd(-1, &set, SFD_NONBLOCK));
	int ep = SAFE(epoll_create1(0));
	ev.data.u32 = 77;
	SAFE(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	TST_EXP_EQ(epoll_wait(ep, &out, 1, 0), 0, "nothing pending");
	raise(SIGUSR1);
	TST_EXP_EQ(epoll_wait(ep, &out, 1, 0), 1, "pending: EPOLLIN");
	TST_CHECK(out.events == EPOLLIN && out.data.u32 == 77, "event and data");
	TST_EXP_EQ(epoll_wait(ep, &out, 1, 0), 1, "level-triggered: still ready before the read");
	TST_EXP_EQ(read(fd, &r, sizeof r), sizeof r, "read");
	TST_EXP_EQ(epoll_wait(ep, &out, 1, 0), 0, "not ready after the read");
	pid_t parent = getpid();
	pid_t child = tst_fork();
	if (child == 0) {
		tst_sleep_ms(20);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	TST_EXP_EQ(epoll_wait(ep, &out, 1, 5000), 1, "a signal sent during epoll_wait wakes it");
	tst_waitpid(child, 0);
	return tst_exit();
}
