/* The default action of each signal, seen by the parent: the terminating
 * and core-dumping ones kill the child with that signal (RLIMIT_CORE 0, so
 * no core flag), the ignored ones let it exit 0. */
#include "tst.h"

static const struct { int sig; char action; } table[] = {
	{ SIGHUP, 'T' }, { SIGINT, 'T' }, { SIGQUIT, 'C' }, { SIGILL, 'C' }, { SIGTRAP, 'C' },
	{ SIGABRT, 'C' }, { SIGBUS, 'C' }, { SIGFPE, 'C' }, { SIGUSR1, 'T' }, { SIGSEGV, 'C' },
	{ SIGUSR2, 'T' }, { SIGPIPE, 'T' }, { SIGALRM, 'T' }, { SIGTERM, 'T' }, { SIGSTKFLT, 'T' },
	{ SIGCHLD, 'I' }, { SIGCONT, 'I' }, { SIGURG, 'I' }, { SIGXCPU, 'C' }, { SIGXFSZ, 'C' },
	{ SIGVTALRM, 'T' }, { SIGPROF, 'T' }, { SIGWINCH, 'I' }, { SIGIO, 'T' }, { SIGPWR, 'T' },
	{ SIGSYS, 'C' }, { 34, 'T' }, { 50, 'T' }, { 64, 'T' },
};

int main(void)
{
	struct rlimit rl = { 0, 0 };
	SAFE(setrlimit(RLIMIT_CORE, &rl));
	for (unsigned i = 0; i < sizeof table / sizeof *table; i++) {
		int sig = table[i].sig;
		pid_t pid = tst_fork();
		if (pid == 0) {
			raise(sig);
			_exit(0);
		}
		int st = tst_waitpid(pid, 0);
		int ok = table[i].action == 'I' ? WIFEXITED(st) && WEXITSTATUS(st) == 0
						: WIFSIGNALED(st) && WTERMSIG(st) == sig && !WCOREDUMP(st);
		TST_CHECK(ok, "%s (%c): %s", tst_signame(sig), table[i].action, tst_strstatus(st));
	}
	return tst_exit();
}
