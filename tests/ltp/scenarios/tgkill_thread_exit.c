/* A thread-directed signal (tgkill) still pending when its thread exits
 * dies with the thread (`kernel/exit.c`: the task's own pending queue is
 * flushed): the main thread, which does not block it, never gets it. Checked
 * for an ordinary signal (SIGUSR1) and for reserved ones (SIGSEGV, SIGTRAP:
 * tern keeps them pending itself). A process-directed one (kill) pending
 * while every thread blocks it stays pending for the process after the
 * thread that could not take it exits. */
#include "tst.h"

static pthread_barrier_t bar;
static volatile pid_t ttid;
static volatile int pending_in_thread[3];
static const int sigs[3] = { SIGUSR1, SIGSEGV, SIGTRAP };

static void *thr(void *arg)
{
	(void)arg;
	for (int i = 0; i < 3; i++)
		tst_mask1(SIG_BLOCK, sigs[i]);
	ttid = tst_gettid();
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);
	sigset_t p;
	sigpending(&p);
	for (int i = 0; i < 3; i++)
		pending_in_thread[i] = sigismember(&p, sigs[i]);
	return NULL;
}

int main(void)
{
	for (int i = 0; i < 3; i++)
		tst_sigaction(sigs[i], tst_handler, 0);
	pthread_barrier_init(&bar, NULL, 2);
	pthread_t t = tst_thread(thr, NULL);
	pthread_barrier_wait(&bar);
	for (int i = 0; i < 3; i++)
		SAFE(syscall(SYS_tgkill, getpid(), ttid, sigs[i]));
	pthread_barrier_wait(&bar);
	pthread_join(t, NULL);
	tst_sleep_ms(20);
	sigset_t p;
	sigpending(&p);
	for (int i = 0; i < 3; i++) {
		TST_CHECK(pending_in_thread[i], "pending for the target thread before it exits");
		TST_EXP_EQ(tst_sig_count[sigs[i]], 0, "deliveries after the target exited");
		TST_CHECK(!sigismember(&p, sigs[i]), "not pending for the process afterwards");
	}

	/* Process-directed, blocked everywhere: still pending after a thread
	 * exits, delivered when the main thread unblocks it. */
	for (int i = 0; i < 3; i++)
		tst_mask1(SIG_BLOCK, sigs[i]);
	t = tst_thread(thr, NULL);
	pthread_barrier_wait(&bar);
	for (int i = 0; i < 3; i++)
		SAFE(kill(getpid(), sigs[i]));
	pthread_barrier_wait(&bar);
	pthread_join(t, NULL);
	sigpending(&p);
	for (int i = 0; i < 3; i++) {
		TST_CHECK(sigismember(&p, sigs[i]), "a killed signal stays pending for the process");
		tst_mask1(SIG_UNBLOCK, sigs[i]);
		TST_EXP_EQ(tst_sig_count[sigs[i]], 1, "delivered once the main thread unblocks it");
	}
	return tst_exit();
}
