/* sigpending is the union of the thread's own pending set and the
 * process's: a tgkill to the main thread shows only there, a kill to the
 * process shows in every thread. */
#include "tst.h"

static pthread_barrier_t bar;
static volatile int thr_sees_usr1 = -1, thr_sees_usr2 = -1;

static void *thr(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&bar);
	sigset_t p;
	sigpending(&p);
	thr_sees_usr1 = sigismember(&p, SIGUSR1);
	thr_sees_usr2 = sigismember(&p, SIGUSR2);
	pthread_barrier_wait(&bar);
	return NULL;
}

int main(void)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGUSR2);
	SAFE(sigprocmask(SIG_BLOCK, &s, NULL));
	pthread_barrier_init(&bar, NULL, 2);
	pthread_t t = tst_thread(thr, NULL);
	SAFE(syscall(SYS_tgkill, getpid(), tst_gettid(), SIGUSR1));
	SAFE(kill(getpid(), SIGUSR2));
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);
	pthread_join(t, NULL);
	sigset_t p;
	sigpending(&p);
	TST_CHECK(sigismember(&p, SIGUSR1) && sigismember(&p, SIGUSR2), "main thread sees both");
	TST_EXP_EQ(thr_sees_usr1, 0, "other thread sees main's tgkill'd SIGUSR1");
	TST_EXP_EQ(thr_sees_usr2, 1, "other thread sees the process SIGUSR2");
	return tst_exit();
}
