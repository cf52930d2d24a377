/* Default stop and continue: a child stopped by SIGSTOP, SIGTSTP, SIGTTIN
 * and SIGTTOU is seen by waitpid(WUNTRACED) as stopped by that signal, and
 * after SIGCONT by waitpid(WCONTINUED) as continued; a SIGCONT handler
 * runs on continue. */
#include "tst.h"

static volatile sig_atomic_t conts;
static void on_cont(int sig) { (void)sig; conts++; }

int main(void)
{
	int sigs[] = { SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU };
	for (int i = 0; i < 4; i++) {
		int fds[2];
		SAFE(pipe(fds));
		pid_t pid = tst_fork();
		if (pid == 0) {
			char c;
			/* A group of its own whose parent is outside it: not orphaned,
			 * so the terminal stop signals are not discarded. */
			setpgid(0, 0);
			signal(SIGCONT, on_cont);
			raise(sigs[i]);
			while (read(fds[0], &c, 1) == -1 && errno == EINTR)
				;
			_exit(conts == 1 ? 7 : 8);
		}
		int st = tst_waitpid(pid, WUNTRACED);
		TST_CHECK(WIFSTOPPED(st) && WSTOPSIG(st) == sigs[i], "%s: %s", tst_signame(sigs[i]), tst_strstatus(st));
		SAFE(kill(pid, SIGCONT));
		st = tst_waitpid(pid, WCONTINUED);
		TST_CHECK(WIFCONTINUED(st), "%s: then %s", tst_signame(sigs[i]), tst_strstatus(st));
		SAFE(write(fds[1], "x", 1));
		close(fds[0]);
		close(fds[1]);
		st = tst_waitpid(pid, 0);
		TST_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7, "%s: SIGCONT handler ran once (%s)", tst_signame(sigs[i]),
			  tst_strstatus(st));
	}
	return tst_exit();
}
