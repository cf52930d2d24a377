/* signalfd and real-time signals: one read returns several queued
 * instances, in order, with their ssi_int and ssi_code SI_QUEUE. */
#include "tst.h"
#include <sys/signalfd.h>

int main(void)
{
	sigset_t set;
	struct signalfd_siginfo r[4];
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 3);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int fd = SAFE(signalfd(-1, &set, SFD_NONBLOCK));
	for (int i = 0; i < 3; i++)
		SAFE(sigqueue(getpid(), SIGRTMIN + 3, (union sigval){ .sival_int = 100 + i }));
	TST_EXP_EQ(read(fd, r, sizeof r), 3 * sizeof r[0], "three records in one read");
	int ok = 1;
	for (int i = 0; i < 3; i++)
		ok &= r[i].ssi_signo == (uint32_t)(SIGRTMIN + 3) && r[i].ssi_int == 100 + i && r[i].ssi_code == SI_QUEUE;
	TST_CHECK(ok, "in sending order with their values");
	TST_EXP_FAIL(read(fd, r, sizeof r), EAGAIN);
	return tst_exit();
}
