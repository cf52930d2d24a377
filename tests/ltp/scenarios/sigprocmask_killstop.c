/* SIGKILL and SIGSTOP cannot be blocked: the raw syscall drops them from
 * any set silently, and a SIGKILL sent to a process that blocks everything
 * still kills it. */
#include "tst.h"

int main(void)
{
	uint64_t all = ~0ULL, got;
	SAFE(syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, 8));
	SAFE(syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &got, 8));
	TST_CHECK(got == (~0ULL & ~(1ULL << (SIGKILL - 1)) & ~(1ULL << (SIGSTOP - 1))), "all blocked but SIGKILL and SIGSTOP");
	uint64_t none = 0;
	SAFE(syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, 8));
	pid_t pid = tst_fork();
	if (pid == 0) {
		SAFE(syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, 8));
		raise(SIGSTOP);
		raise(SIGKILL);
		_exit(0);
	}
	int st = tst_waitpid(pid, WUNTRACED);
	TST_CHECK(WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP, "blocked-everything child stops: %s", tst_strstatus(st));
	SAFE(kill(pid, SIGCONT));
	st = tst_waitpid(pid, 0);
	TST_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "and dies of SIGKILL: %s", tst_strstatus(st));
	return tst_exit();
}
