/* A process-directed signal sent while every thread blocks it stays
 * pending for the process; the first thread to unblock it (a worker) takes
 * it, and the main thread's pending set no longer shows it. */
#include "tst.h"

static pthread_barrier_t bar;
static volatile pid_t wtid;

static void *worker(void *arg)
{
	(void)arg;
	wtid = tst_gettid();
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);
	tst_mask1(SIG_UNBLOCK, SIGUSR2);
	return NULL;
}

int main(void)
{
	tst_sigaction(SIGUSR2, tst_handler, 0);
	tst_mask1(SIG_BLOCK, SIGUSR2);
	pthread_barrier_init(&bar, NULL, 2);
	pthread_t t = tst_thread(worker, NULL);
	pthread_barrier_wait(&bar);
	SAFE(kill(getpid(), SIGUSR2));
	sigset_t p;
	sigpending(&p);
	TST_CHECK(sigismember(&p, SIGUSR2), "pending for the process while all block it");
	pthread_barrier_wait(&bar);
	pthread_join(t, NULL);
	TST_EXP_EQ(tst_sig_count[SIGUSR2], 1, "deliveries");
	TST_CHECK(tst_sig_tid[SIGUSR2] == wtid, "taken by the thread that unblocked it");
	sigpending(&p);
	TST_CHECK(!sigismember(&p, SIGUSR2), "no longer pending");
	return tst_exit();
}
