/* timer_create with SIGEV_THREAD_ID sends the signal to the named thread:
 * a second thread blocked in sigwaitinfo gets it while the main thread
 * blocks it; a tid outside the process is EINVAL. */
#include "tst.h"

static timer_t tm;
static volatile pid_t waiter_tid;
static volatile int got_value;

static void *waiter(void *arg)
{
	sigset_t set;
	siginfo_t si;
	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 2);
	waiter_tid = tst_gettid();
	if (sigwaitinfo(&set, &si) == SIGRTMIN + 2 && si.si_code == SI_TIMER)
		got_value = si.si_value.sival_int;
	return NULL;
}

int main(void)
{
	sigset_t set;
	struct sigevent sev;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	pthread_t th = tst_thread(waiter, NULL);
	while (!waiter_tid)
		tst_sleep_ms(1);
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGRTMIN + 2;
	sev.sigev_value.sival_int = 7;
	sev._sigev_un._tid = 1;
	TST_EXP_FAIL(timer_create(CLOCK_MONOTONIC, &sev, &tm), EINVAL);
	sev._sigev_un._tid = waiter_tid;
	SAFE(timer_create(CLOCK_MONOTONIC, &sev, &tm));
	struct itimerspec once = { { 0, 0 }, { 0, 2000000 } };
	SAFE(timer_settime(tm, 0, &once, NULL));
	pthread_join(th, NULL);
	TST_EXP_EQ(got_value, 7, "the named thread took the timer signal with its value");
	sigset_t pend;
	sigpending(&pend);
	TST_CHECK(!sigismember(&pend, SIGRTMIN + 2), "nothing left pending for the main thread");
	return tst_exit();
}
