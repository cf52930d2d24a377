/* Signals whose default action is to ignore (SIGCHLD, SIGURG, SIGWINCH,
 * SIGCONT) do nothing when sent with SIG_DFL, and are not left pending. */
#include "tst.h"

int main(void)
{
	int sigs[] = { SIGCHLD, SIGURG, SIGWINCH, SIGCONT };
	for (unsigned i = 0; i < sizeof sigs / sizeof *sigs; i++) {
		raise(sigs[i]);
		kill(getpid(), sigs[i]);
		sigset_t p;
		sigpending(&p);
		TST_CHECK(!sigismember(&p, sigs[i]), "SIG%s ignored by default, not pending", sigabbrev_np(sigs[i]));
	}
	return tst_exit();
}
