/* raise in a second thread delivers to that thread, not to the main one. */
#include "tst.h"

static volatile pid_t ttid;

static void *thr(void *arg)
{
	(void)arg;
	ttid = tst_gettid();
	raise(SIGUSR2);
	return NULL;
}

int main(void)
{
	tst_sigaction(SIGUSR2, tst_handler, 0);
	pthread_t t = tst_thread(thr, NULL);
	pthread_join(t, NULL);
	TST_EXP_EQ(tst_sig_count[SIGUSR2], 1, "deliveries");
	TST_CHECK(tst_sig_tid[SIGUSR2] == ttid && ttid != tst_gettid(), "delivered in the raising thread");
	return tst_exit();
}
