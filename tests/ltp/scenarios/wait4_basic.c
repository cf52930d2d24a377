/* wait4: the status of an exited and a killed child (WCOREDUMP unset with
 * RLIMIT_CORE 0), rusage filled in, ECHILD with no children, EINVAL for
 * unknown options, pid -1/0/-pgid selection. */
#include "tst.h"
#include <sys/resource.h>

int main(void)
{
	struct rusage ru;
	struct rlimit no_core = { 0, 0 };
	setrlimit(RLIMIT_CORE, &no_core);
	pid_t p = tst_fork();
	if (p == 0)
		_exit(7);
	int st;
	memset(&ru, 0xff, sizeof ru);
	TST_CHECK(wait4(-1, &st, 0, &ru) == p, "wait4(-1) reaps the child");
	TST_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7, "%s", tst_strstatus(st));
	TST_CHECK(ru.ru_utime.tv_sec >= 0 && ru.ru_utime.tv_sec < 100 && ru.ru_maxrss >= 0, "rusage written");
	p = tst_fork();
	if (p == 0) {
		signal(SIGSEGV, SIG_DFL);
		raise(SIGSEGV);
		_exit(0);
	}
	TST_CHECK(wait4(0, &st, 0, NULL) == p, "wait4(0): same process group");
	TST_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV && !WCOREDUMP(st), "%s", tst_strstatus(st));
	p = tst_fork();
	if (p == 0) {
		setpgid(0, 0);
		_exit(1);
	}
	setpgid(p, p);
	TST_CHECK(wait4(-p, &st, 0, NULL) == p, "wait4(-pgid)");
	TST_EXP_FAIL(wait4(-1, &st, 0, NULL), ECHILD);
	TST_EXP_FAIL(wait4(-1, &st, 0x1000, NULL), EINVAL);
	return tst_exit();
}
