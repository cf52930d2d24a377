/* raise with default actions: SIGTERM kills, SIGABRT kills (RLIMIT_CORE 0,
 * no core), SIGCHLD is ignored and raise returns 0. */
#include "tst.h"

int main(void)
{
	struct rlimit rl = { 0, 0 };
	SAFE(setrlimit(RLIMIT_CORE, &rl));
	int sigs[] = { SIGTERM, SIGABRT };
	for (int i = 0; i < 2; i++) {
		pid_t pid = tst_fork();
		if (pid == 0) {
			raise(sigs[i]);
			_exit(0);
		}
		int st = tst_waitpid(pid, 0);
		TST_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == sigs[i] && !WCOREDUMP(st), "%s", tst_strstatus(st));
	}
	TST_EXP_EQ(raise(SIGCHLD), 0, "raise(SIGCHLD)");
	return tst_exit();
}
