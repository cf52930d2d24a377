/* tgkill to a thread that blocks the signal: it stays pending for that
 * thread only (not delivered to the main thread that does not block it),
 * and is delivered in that thread when it unblocks. */
#include "tst.h"

static pthread_barrier_t bar;
static volatile pid_t ttid;
static volatile int pending_in_thread;

static void *thr(void *arg)
{
	(void)arg;
	tst_mask1(SIG_BLOCK, SIGUSR1);
	ttid = tst_gettid();
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);
	sigset_t p;
	sigpending(&p);
	pending_in_thread = sigismember(&p, SIGUSR1);
	tst_mask1(SIG_UNBLOCK, SIGUSR1);
	return NULL;
}

int main(void)
{
	tst_sigaction(SIGUSR1, tst_handler, 0);
	pthread_barrier_init(&bar, NULL, 2);
	pthread_t t = tst_thread(thr, NULL);
	pthread_barrier_wait(&bar);
	SAFE(syscall(SYS_tgkill, getpid(), ttid, SIGUSR1));
	tst_sleep_ms(20);
	TST_EXP_EQ(tst_sig_count[SIGUSR1], 0, "deliveries while the target blocks it");
	sigset_t p;
	sigpending(&p);
	TST_CHECK(!sigismember(&p, SIGUSR1), "not pending for the main thread");
	pid_t target = ttid;
	pthread_barrier_wait(&bar);
	pthread_join(t, NULL);
	TST_CHECK(pending_in_thread, "pending for the target thread");
	TST_EXP_EQ(tst_sig_count[SIGUSR1], 1, "deliveries after it unblocks");
	TST_CHECK(tst_sig_tid[SIGUSR1] == target, "delivered in the target thread");
	return tst_exit();
}
