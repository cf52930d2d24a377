/* sigaltstack is per thread: a new thread starts with it disabled (and can
 * set its own), while a fork child inherits the parent's. */
#include "tst.h"

static char alt[32 * 1024], alt2[32 * 1024];
static volatile int thread_flags = -1, thread_set_ok;

static void *thr(void *arg)
{
	(void)arg;
	stack_t q;
	sigaltstack(NULL, &q);
	thread_flags = q.ss_flags;
	stack_t ss = { .ss_sp = alt2, .ss_size = sizeof alt2 };
	thread_set_ok = sigaltstack(&ss, NULL) == 0;
	return NULL;
}

int main(void)
{
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt };
	SAFE(sigaltstack(&ss, NULL));
	pthread_t t = tst_thread(thr, NULL);
	pthread_join(t, NULL);
	TST_EXP_EQ(thread_flags, SS_DISABLE, "new thread's ss_flags");
	TST_CHECK(thread_set_ok, "the thread sets its own stack");
	stack_t q;
	SAFE(sigaltstack(NULL, &q));
	TST_CHECK(q.ss_sp == alt, "the main thread's stack is unchanged by the thread's");
	pid_t pid = tst_fork();
	if (pid == 0) {
		stack_t c;
		sigaltstack(NULL, &c);
		TST_CHECK(c.ss_sp == alt && c.ss_size == sizeof alt && c.ss_flags == 0, "fork child inherits the stack");
		tst_child_exit();
	}
	tst_reap(pid);
	return tst_exit();
}
