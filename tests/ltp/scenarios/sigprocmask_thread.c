/* The mask is per thread: a new thread inherits its creator's mask and
 * starts with nothing pending; changes in one thread leave the other's. */
#include "tst.h"

static volatile int inherited, pending_empty, changed;
static pthread_barrier_t bar;

static void *thr(void *arg)
{
	(void)arg;
	sigset_t cur, p;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	inherited = sigismember(&cur, SIGUSR1) && !sigismember(&cur, SIGUSR2);
	sigpending(&p);
	pending_empty = !sigismember(&p, SIGUSR1);
	tst_mask1(SIG_BLOCK, SIGUSR2);
	tst_mask1(SIG_UNBLOCK, SIGUSR1);
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	changed = sigismember(&cur, SIGUSR2) && !sigismember(&cur, SIGUSR1) && !sigismember(&cur, SIGHUP);
	return NULL;
}

int main(void)
{
	pthread_barrier_init(&bar, NULL, 2);
	tst_mask1(SIG_BLOCK, SIGUSR1);
	SAFE(syscall(SYS_tgkill, getpid(), tst_gettid(), SIGUSR1));
	pthread_t t = tst_thread(thr, NULL);
	pthread_barrier_wait(&bar);
	sigset_t cur;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	TST_CHECK(sigismember(&cur, SIGUSR1) && !sigismember(&cur, SIGUSR2), "main's mask unchanged by the thread's");
	tst_mask1(SIG_BLOCK, SIGHUP);
	pthread_barrier_wait(&bar);
	pthread_join(t, NULL);
	TST_CHECK(inherited, "new thread inherits the creator's mask");
	TST_CHECK(pending_empty, "new thread starts with nothing pending");
	TST_CHECK(changed, "thread's mask unchanged by main's");
	return tst_exit();
}
