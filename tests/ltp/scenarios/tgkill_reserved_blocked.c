/* tgkill of a reserved signal (SIGSEGV, SIGTRAP: tern keeps them pending
 * itself) to a thread that blocks it: pending for that thread only (the
 * main thread's sigpending does not show it, the target's does), delivered
 * in that thread when it unblocks. A kill of the same signal is
 * process-wide: every thread sees it pending. */
#include "tst.h"

static pthread_barrier_t bar;
static volatile pid_t ttid;
static volatile int pending_in_thread[2];

static void *thr(void *arg)
{
	(void)arg;
	tst_mask1(SIG_BLOCK, SIGSEGV);
	tst_mask1(SIG_BLOCK, SIGTRAP);
	ttid = tst_gettid();
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);
	sigset_t p;
	sigpending(&p);
	pending_in_thread[0] = sigismember(&p, SIGSEGV);
	pending_in_thread[1] = sigismember(&p, SIGTRAP);
	tst_mask1(SIG_UNBLOCK, SIGSEGV);
	tst_mask1(SIG_UNBLOCK, SIGTRAP);
	return NULL;
}

int main(void)
{
	tst_sigaction(SIGSEGV, tst_handler, 0);
	tst_sigaction(SIGTRAP, tst_handler, 0);
	pthread_barrier_init(&bar, NULL, 2);
	pthread_t t = tst_thread(thr, NULL);
	pthread_barrier_wait(&bar);
	SAFE(syscall(SYS_tgkill, getpid(), ttid, SIGSEGV));
	SAFE(syscall(SYS_tgkill, getpid(), ttid, SIGTRAP));
	tst_sleep_ms(20);
	TST_EXP_EQ(tst_sig_count[SIGSEGV], 0, "SIGSEGV deliveries while the target blocks it");
	sigset_t p;
	sigpending(&p);
	TST_CHECK(!sigismember(&p, SIGSEGV), "SIGSEGV not pending for the main thread");
	TST_CHECK(!sigismember(&p, SIGTRAP), "SIGTRAP not pending for the main thread");
	pid_t target = ttid;
	pthread_barrier_wait(&bar);
	pthread_join(t, NULL);
	TST_CHECK(pending_in_thread[0], "SIGSEGV pending for the target thread");
	TST_CHECK(pending_in_thread[1], "SIGTRAP pending for the target thread");
	TST_EXP_EQ(tst_sig_count[SIGSEGV], 1, "SIGSEGV deliveries after it unblocks");
	TST_CHECK(tst_sig_tid[SIGSEGV] == target, "SIGSEGV delivered in the target thread");
	TST_EXP_EQ(tst_sig_count[SIGTRAP], 1, "SIGTRAP deliveries after it unblocks");

	/* Process-directed: pending for every thread that blocks it. */
	tst_mask1(SIG_BLOCK, SIGSEGV);
	SAFE(kill(getpid(), SIGSEGV));
	sigpending(&p);
	TST_CHECK(sigismember(&p, SIGSEGV), "a killed SIGSEGV is pending for the process");
	tst_mask1(SIG_UNBLOCK, SIGSEGV);
	TST_EXP_EQ(tst_sig_count[SIGSEGV], 2, "SIGSEGV deliveries after kill and unblock");
	return tst_exit();
}
