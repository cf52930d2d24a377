/* A process-directed signal goes to a thread that does not block it: with
 * the main thread and one worker blocking SIGUSR1 and another worker not,
 * kill(getpid()) runs the handler in that worker, ten times out of ten. */
#include "tst.h"

static pthread_barrier_t bar;
static volatile pid_t open_tid;
static volatile int stop;

static void *worker(void *arg)
{
	if (arg)
		open_tid = tst_gettid();
	else
		tst_mask1(SIG_BLOCK, SIGUSR1);
	pthread_barrier_wait(&bar);
	while (!stop)
		tst_sleep_ms(1);
	return NULL;
}

int main(void)
{
	tst_sigaction(SIGUSR1, tst_handler, 0);
	pthread_barrier_init(&bar, NULL, 3);
	pthread_t a = tst_thread(worker, NULL);
	pthread_t b = tst_thread(worker, (void *)1);
	tst_mask1(SIG_BLOCK, SIGUSR1);
	pthread_barrier_wait(&bar);
	int right = 0;
	for (int i = 0; i < 10; i++) {
		int before = tst_sig_count[SIGUSR1];
		SAFE(kill(getpid(), SIGUSR1));
		for (int k = 0; k < 2000 && tst_sig_count[SIGUSR1] == before; k++)
			tst_sleep_ms(1);
		right += tst_sig_tid[SIGUSR1] == open_tid;
	}
	stop = 1;
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	TST_EXP_EQ(tst_sig_count[SIGUSR1], 10, "deliveries");
	TST_EXP_EQ(right, 10, "deliveries in the thread that does not block it");
	return tst_exit();
}
