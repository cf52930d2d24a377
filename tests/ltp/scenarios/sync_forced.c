/* A synchronous signal that is blocked or ignored is forced: the process
 * dies of it instead of looping on the faulting instruction (SIGSEGV,
 * SIGFPE, SIGILL, SIGTRAP each blocked with a handler, and ignored). A
 * fault inside the SIGSEGV handler (SIGSEGV blocked there) kills too. */
#include "tst.h"

static volatile int *volatile bad = (int *)8;

static void h(int sig) { (void)sig; }
static void h_fault(int sig)
{
	(void)sig;
	*bad = 1;
}

static void fault(int sig)
{
	switch (sig) {
	case SIGSEGV: *bad = 1; break;
	case SIGFPE: __asm__ volatile("xor %%ecx, %%ecx\nmov $1, %%eax\ncltd\nidivl %%ecx" ::: "rax", "rcx", "rdx"); break;
	case SIGILL: __asm__ volatile("ud2"); break;
	case SIGTRAP: __asm__ volatile("int3"); break;
	}
}

int main(void)
{
	struct rlimit rl = { 0, 0 };
	SAFE(setrlimit(RLIMIT_CORE, &rl));
	int sigs[] = { SIGSEGV, SIGFPE, SIGILL, SIGTRAP };
	for (int i = 0; i < 4; i++) {
		for (int how = 0; how < 2; how++) {
			pid_t pid = tst_fork();
			if (pid == 0) {
				if (how == 0) {
					tst_signal(sigs[i], h);
					tst_mask1(SIG_BLOCK, sigs[i]);
				} else {
					tst_signal(sigs[i], SIG_IGN);
				}
				fault(sigs[i]);
				_exit(0);
			}
			int st = tst_waitpid(pid, 0);
			TST_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == sigs[i], "%s %s: %s", tst_signame(sigs[i]),
				  how ? "ignored" : "blocked", tst_strstatus(st));
		}
	}
	pid_t pid = tst_fork();
	if (pid == 0) {
		tst_signal(SIGSEGV, h_fault);
		fault(SIGSEGV);
		_exit(0);
	}
	int st = tst_waitpid(pid, 0);
	TST_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "fault in the SIGSEGV handler: %s", tst_strstatus(st));
	return tst_exit();
}
