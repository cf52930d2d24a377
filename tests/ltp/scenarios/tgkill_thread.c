/* tgkill to a given thread: the handler runs in that thread (and only
 * there), for each of three threads in turn. */
#include "tst.h"

#define N 3
static volatile pid_t tids[N];
static volatile int stop;
static pthread_barrier_t bar;

static void *thr(void *arg)
{
	tids[(long)arg] = tst_gettid();
	pthread_barrier_wait(&bar);
	while (!stop)
		tst_sleep_ms(1);
	return NULL;
}

int main(void)
{
	tst_sigaction(SIGUSR1, tst_handler, 0);
	pthread_barrier_init(&bar, NULL, N + 1);
	pthread_t t[N];
	for (long i = 0; i < N; i++)
		t[i] = tst_thread(thr, (void *)i);
	pthread_barrier_wait(&bar);
	for (int i = 0; i < N; i++) {
		int before = tst_sig_count[SIGUSR1];
		SAFE(syscall(SYS_tgkill, getpid(), tids[i], SIGUSR1));
		for (int k = 0; k < 2000 && tst_sig_count[SIGUSR1] == before; k++)
			tst_sleep_ms(1);
		TST_CHECK(tst_sig_tid[SIGUSR1] == tids[i], "thread %d received its tgkill", i);
		TST_EXP_EQ(tst_sig_info[SIGUSR1].si_code, SI_TKILL, "si_code");
	}
	stop = 1;
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	TST_EXP_EQ(tst_sig_count[SIGUSR1], N, "deliveries");
	return tst_exit();
}
