/* rt_tgsigqueueinfo to one thread of ours: that thread's handler gets the
 * signal with the given si_code and si_value; a wrong tgid is ESRCH. */
#include "tst.h"

static volatile pid_t ttid;
static volatile int stop;

static void *thr(void *arg)
{
	(void)arg;
	ttid = tst_gettid();
	while (!stop)
		tst_sleep_ms(1);
	return NULL;
}

int main(void)
{
	tst_sigaction(SIGRTMIN, tst_handler, 0);
	tst_mask1(SIG_BLOCK, SIGRTMIN);
	tst_mask1(SIG_UNBLOCK, SIGRTMIN);
	pthread_t t = tst_thread(thr, NULL);
	tst_mask1(SIG_BLOCK, SIGRTMIN);
	while (!ttid)
		tst_sleep_ms(1);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_signo = SIGRTMIN;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = 99;
	TST_EXP_OK(syscall(SYS_rt_tgsigqueueinfo, getpid(), ttid, SIGRTMIN, &si));
	for (int k = 0; k < 2000 && !tst_sig_count[SIGRTMIN]; k++)
		tst_sleep_ms(1);
	TST_CHECK(tst_sig_tid[SIGRTMIN] == ttid, "delivered in the target thread");
	TST_EXP_EQ(tst_sig_info[SIGRTMIN].si_code, SI_QUEUE, "si_code");
	TST_EXP_EQ(tst_sig_info[SIGRTMIN].si_value.sival_int, 99, "si_value");
	TST_EXP_FAIL(syscall(SYS_rt_tgsigqueueinfo, getpid() + 100000, ttid, SIGRTMIN, &si), ESRCH);
	stop = 1;
	pthread_join(t, NULL);
	return tst_exit();
}
