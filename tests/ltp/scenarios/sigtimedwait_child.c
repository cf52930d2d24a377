/* sigtimedwait wakes for a signal sent by another process while it waits,
 * and reports that process as the sender. */
#include "tst.h"

int main(void)
{
	sigset_t set;
	siginfo_t si;
	struct timespec ts = { 5, 0 };
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	pid_t parent = getpid();
	pid_t child = tst_fork();
	if (child == 0) {
		tst_sleep_ms(20);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	TST_EXP_EQ(sigtimedwait(&set, &si, &ts), SIGUSR1, "woken by the child's signal");
	TST_CHECK(si.si_pid == child, "si_pid is the child");
	TST_EXP_EQ(si.si_code, SI_USER, "si_code");
	tst_waitpid(child, 0);
	return tst_exit();
}
