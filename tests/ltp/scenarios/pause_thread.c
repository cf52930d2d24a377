/* pause in a thread: a tgkill to that thread ends its pause with EINTR
 * while the main thread goes on. */
#include "tst.h"

static volatile pid_t ttid;
static volatile int r = 99, e;

static void *thr(void *arg)
{
	(void)arg;
	ttid = tst_gettid();
	r = pause();
	e = errno;
	return NULL;
}

int main(void)
{
	tst_sigaction(SIGUSR1, tst_handler, 0);
	/* the thread starts with SIGUSR1 unblocked, main then blocks it */
	pthread_t t = tst_thread(thr, NULL);
	tst_mask1(SIG_BLOCK, SIGUSR1);
	while (!ttid)
		tst_sleep_ms(1);
	tst_sleep_ms(30);
	SAFE(syscall(SYS_tgkill, getpid(), ttid, SIGUSR1));
	pthread_join(t, NULL);
	TST_CHECK(r == -1 && e == EINTR, "thread's pause: %d %s", r, tst_errname(e));
	TST_CHECK(tst_sig_tid[SIGUSR1] == ttid, "handler ran in the thread");
	return tst_exit();
}
