/* Dispositions are per process: a handler installed by a worker thread
 * runs when the main thread raises the signal, and SIG_IGN set by the main
 * thread makes the worker's raise do nothing. */
#include "tst.h"

static void *install(void *arg)
{
	(void)arg;
	tst_sigaction(SIGUSR1, tst_handler, 0);
	return NULL;
}

static void *raiser(void *arg)
{
	(void)arg;
	raise(SIGUSR2);
	return NULL;
}

int main(void)
{
	pthread_t t = tst_thread(install, NULL);
	pthread_join(t, NULL);
	raise(SIGUSR1);
	TST_EXP_EQ(tst_sig_count[SIGUSR1], 1, "worker's handler runs for the main thread");
	TST_CHECK(tst_sig_tid[SIGUSR1] == tst_gettid(), "in the main thread");
	tst_signal(SIGUSR2, SIG_IGN);
	t = tst_thread(raiser, NULL);
	pthread_join(t, NULL);
	tst_res(TPASS, "SIG_IGN set by main applies to the worker");
	return tst_exit();
}
