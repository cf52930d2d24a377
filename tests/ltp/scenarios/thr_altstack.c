/* Each thread's SA_ONSTACK handler runs on that thread's own alternate
 * stack (two threads, two stacks, tgkill to each). */
#include "tst.h"

#define SZ (64 * 1024)
static char stacks[2][SZ];
static volatile int on_own[2] = { -1, -1 };
static volatile pid_t tids[2];
static __thread int idx;
static pthread_barrier_t bar;
static volatile int stop;

static void h(int sig)
{
	(void)sig;
	char here;
	on_own[idx] = &here >= stacks[idx] && &here < stacks[idx] + SZ;
}

static void *thr(void *arg)
{
	idx = (int)(long)arg;
	stack_t ss = { .ss_sp = stacks[idx], .ss_size = SZ };
	sigaltstack(&ss, NULL);
	tst_mask1(SIG_UNBLOCK, SIGUSR1);
	tids[idx] = tst_gettid();
	pthread_barrier_wait(&bar);
	while (!stop)
		tst_sleep_ms(1);
	return NULL;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sa.sa_flags = SA_ONSTACK;
	SAFE(sigaction(SIGUSR1, &sa, NULL));
	tst_mask1(SIG_BLOCK, SIGUSR1);
	pthread_barrier_init(&bar, NULL, 3);
	pthread_t t0 = tst_thread(thr, (void *)0), t1 = tst_thread(thr, (void *)1);
	pthread_barrier_wait(&bar);
	for (int i = 0; i < 2; i++) {
		SAFE(syscall(SYS_tgkill, getpid(), tids[i], SIGUSR1));
		for (int k = 0; k < 2000 && on_own[i] == -1; k++)
			tst_sleep_ms(1);
		TST_EXP_EQ(on_own[i], 1, i ? "second thread on its own stack" : "first thread on its own stack");
	}
	stop = 1;
	pthread_join(t0, NULL);
	pthread_join(t1, NULL);
	return tst_exit();
}
