/* SA_NOCLDWAIT: children leave no zombie, wait fails with ECHILD (after
 * they have all ended), and SIGCHLD is still sent to the handler. */
#include "tst.h"

int main(void)
{
	tst_sigaction(SIGCHLD, tst_handler, SA_NOCLDWAIT | SA_RESTART);
	pid_t p = tst_fork();
	if (p == 0)
		_exit(3);
	TST_EXP_FAIL(waitpid(-1, NULL, 0), ECHILD);
	TST_CHECK(kill(p, 0) == -1 && errno == ESRCH, "no zombie is left");
	TST_CHECK(tst_wait_flag(&tst_sig_count[SIGCHLD], 2000), "SIGCHLD still delivered");
	return tst_exit();
}
