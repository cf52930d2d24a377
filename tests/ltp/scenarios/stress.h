/*
 * Stress, nothing lost (issue 12 item 9): the main thread blocks in one
 * call (a table row below) while a sender thread, at a random moment of
 * every iteration, queues it a real-time signal carrying the iteration
 * number, sometimes a burst of three SIGUSR1, and then completes the call.
 * Every iteration checks:
 *   - the call's result follows signal(7): completion, or EINTR only where
 *     the rule allows it (never for read/futex under SA_RESTART);
 *   - once the call has returned after the completion, the real-time
 *     signal has been handled exactly once, in order (its si_value is the
 *     iteration number);
 *   - a SIGUSR1 burst has run the handler at least once;
 * and nothing hangs (the harness's timeout). A scenario `stress_NAME.c` is
 * `return stress_main("NAME");`, run with and without SA_RESTART.
 *
 * The iteration count is TERN_LTP_STRESS_N (default STRESS_DEFAULT_N, kept
 * small for CI); the full run uses 100000.
 */
#ifndef STRESS_H
#define STRESS_H

#include "tst.h"

#include <linux/futex.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/prctl.h>

#define STRESS_DEFAULT_N 1000

/* The iteration count: TERN_LTP_STRESS_N, else `dflt`. */
static long stress_n(long dflt)
{
	const char *s = getenv("TERN_LTP_STRESS_N");
	long n = s ? strtol(s, NULL, 10) : 0;
	return n > 0 ? n : dflt;
}

/* A small xorshift generator per thread. */
static uint32_t stress_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Spins for a random while: mostly under a microsecond, sometimes tens. */
static void stress_delay(uint32_t *seed)
{
	uint32_t r = stress_rand(seed);
	uint32_t n = (r & 3) ? r % 500 : r % 40000;
	for (volatile uint32_t i = 0; i < n; i++)
		__asm__ volatile("pause");
}

static void stress_futex_wait(volatile int *w, int val)
{
	syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void stress_futex_wake(volatile int *w)
{
	syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* State shared by the two threads. */
static struct {
	pid_t main_tid;
	long n;
	volatile int ready, sent, done, word;
	int fd[2], ep;
} st;

static volatile sig_atomic_t st_rt_hits, st_rt_bad, st_usr1_hits;

static void st_on_rt(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (si->si_value.sival_int != st_rt_hits || si->si_code != SI_QUEUE)
		st_rt_bad++;
	st_rt_hits++;
}

static void st_on_usr1(int sig)
{
	(void)sig;
	st_usr1_hits++;
}

/* One blocking call. `call` makes it once for iteration i and says whether
 * the iteration is complete; `eintr_ok` says whether EINTR is allowed. */
struct stress_call {
	const char *name;
	/* EINTR allowed under SA_RESTART (never restarted after a handler). */
	int eintr_even_with_restart;
	/* Returns 1: complete, 0: returned early (result in *r, errno). */
	int (*call)(long i, long *r);
	/* Run by the sender after the signals: makes the call complete. */
	void (*complete)(long i);
};

static int sc_read(long i, long *r)
{
	char c;
	(void)i;
	*r = read(st.fd[0], &c, 1);
	return *r == 1;
}

static void sk_write(long i)
{
	(void)i;
	if (write(st.fd[1], "x", 1) != 1)
		abort();
}

/* Complete when the wait ended because the word had changed: woken (0) or
 * the word already changed at entry (EAGAIN); either way the signals,
 * sent before the change, were pending when the call returned. */
static int sc_futex(long i, long *r)
{
	*r = syscall(SYS_futex, &st.word, FUTEX_WAIT_PRIVATE, (int)i, NULL, NULL, 0);
	int changed = (*r == 0 || errno == EAGAIN) && st.word == i + 1;
	if (*r == -1 && errno == EAGAIN)
		*r = 0;
	return changed;
}

static void sk_futex(long i)
{
	__atomic_store_n(&st.word, (int)i + 1, __ATOMIC_SEQ_CST);
	stress_futex_wake(&st.word);
}

/* Complete when a sleep that began after the send has returned; EINTR must
 * leave a rem within the request plus the thread's timer slack (the
 * kernel counts rem to the timer's hard expiry, which the slack delays). */
static int sc_nanosleep(long i, long *r)
{
	struct timespec req = { 0, 30000 }, rem = { 0, 0 };
	long slack = prctl(PR_GET_TIMERSLACK);
	int sent_before = __atomic_load_n(&st.sent, __ATOMIC_SEQ_CST) == i + 1;
	*r = nanosleep(&req, &rem);
	if (*r == -1 && errno == EINTR && (rem.tv_sec != 0 || rem.tv_nsec < 0 || rem.tv_nsec > 30000 + slack))
		errno = ERANGE;
	return sent_before;
}

static int sc_poll(long i, long *r)
{
	struct pollfd p = { st.fd[0], POLLIN, 0 };
	char c;
	(void)i;
	*r = poll(&p, 1, -1);
	if (*r != 1)
		return 0;
	*r = read(st.fd[0], &c, 1);
	return *r == 1;
}

static int sc_epoll_wait(long i, long *r)
{
	struct epoll_event ev;
	char c;
	(void)i;
	*r = epoll_wait(st.ep, &ev, 1, -1);
	if (*r != 1)
		return 0;
	*r = read(st.fd[0], &c, 1);
	return *r == 1;
}

static const struct stress_call stress_calls[] = {
	{ "read", 0, sc_read, sk_write },
	{ "futex", 0, sc_futex, sk_futex },
	{ "nanosleep", 1, sc_nanosleep, NULL },
	{ "poll", 1, sc_poll, sk_write },
	{ "epoll_wait", 1, sc_epoll_wait, sk_write },
};

static const struct stress_call *st_call;

static void *st_sender(void *arg)
{
	uint32_t seed = 0x9e3779b9u ^ (uint32_t)(uintptr_t)arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (long i = 0; i < st.n; i++) {
		int v;
		while ((v = __atomic_load_n(&st.ready, __ATOMIC_SEQ_CST)) != i + 1)
			stress_futex_wait(&st.ready, v);
		stress_delay(&seed);
		union sigval val = { .sival_int = (int)i };
		siginfo_t si;
		memset(&si, 0, sizeof si);
		si.si_signo = SIGRTMIN;
		si.si_code = SI_QUEUE;
		si.si_pid = getpid();
		si.si_uid = getuid();
		si.si_value = val;
		syscall(SYS_rt_tgsigqueueinfo, getpid(), st.main_tid, SIGRTMIN, &si);
		if (i % 8 == 0)
			for (int k = 0; k < 3; k++)
				syscall(SYS_tgkill, getpid(), st.main_tid, SIGUSR1);
		__atomic_store_n(&st.sent, (int)i + 1, __ATOMIC_SEQ_CST);
		stress_delay(&seed);
		if (st_call->complete)
			st_call->complete(i);
		while ((v = __atomic_load_n(&st.done, __ATOMIC_SEQ_CST)) != i + 1)
			stress_futex_wait(&st.done, v);
	}
	return NULL;
}

/* Runs the loop once with the handlers' SA_RESTART as `restart` says. */
static void stress_run(int restart)
{
	const char *mode = restart ? "SA_RESTART" : "no SA_RESTART";
	long eintr = 0, wrong = 0, lost = 0, bursts_lost = 0;
	long wrong_r = 0;
	int wrong_e = 0;

	memset((void *)&st, 0, sizeof st);
	st_rt_hits = st_rt_bad = st_usr1_hits = 0;
	st.n = stress_n(STRESS_DEFAULT_N);
	st.main_tid = tst_gettid();
	SAFE(pipe(st.fd));
	st.ep = SAFE(epoll_create1(0));
	struct epoll_event ev = { .events = EPOLLIN };
	SAFE(epoll_ctl(st.ep, EPOLL_CTL_ADD, st.fd[0], &ev));
	tst_sigaction(SIGRTMIN, st_on_rt, restart ? SA_RESTART : 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = st_on_usr1;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGUSR1, &sa, NULL);

	pthread_t th = tst_thread(st_sender, (void *)(uintptr_t)restart);
	for (long i = 0; i < st.n; i++) {
		int usr1_before = st_usr1_hits;
		__atomic_store_n(&st.ready, (int)i + 1, __ATOMIC_SEQ_CST);
		stress_futex_wake(&st.ready);
		for (;;) {
			long r;
			errno = 0;
			int complete = st_call->call(i, &r);
			if (r == -1 && errno == EINTR && (!restart || st_call->eintr_even_with_restart)) {
				eintr++;
			} else if (r == -1 && !wrong++) {
				wrong_r = r;
				wrong_e = errno;
			}
			if (complete)
				break;
		}
		if (st_rt_hits != i + 1)
			lost++;
		if (i % 8 == 0 && st_usr1_hits == usr1_before)
			bursts_lost++;
		__atomic_store_n(&st.done, (int)i + 1, __ATOMIC_SEQ_CST);
		stress_futex_wake(&st.done);
	}
	pthread_join(th, NULL);
	close(st.fd[0]);
	close(st.fd[1]);
	close(st.ep);
	tst_res(TINFO, "%s, %s: %ld iterations, %ld EINTR", st_call->name, mode, st.n, eintr);
	if (wrong)
		tst_res(TFAIL, "%s, %s: %ld results against the rule (first: %ld, %s)", st_call->name, mode, wrong, wrong_r,
			tst_errname(wrong_e));
	else
		tst_res(TPASS, "%s, %s: every result follows signal(7)", st_call->name, mode);
	TST_CHECK(!lost && !st_rt_bad, "%s, %s: each real-time signal handled exactly once, in order (%ld late, %d out of order)",
		  st_call->name, mode, lost, (int)st_rt_bad);
	TST_CHECK(!bursts_lost, "%s, %s: every SIGUSR1 burst handled (%ld missed)", st_call->name, mode, bursts_lost);
}

static int stress_main(const char *name)
{
	for (size_t i = 0; i < sizeof stress_calls / sizeof stress_calls[0]; i++)
		if (!strcmp(stress_calls[i].name, name))
			st_call = &stress_calls[i];
	if (!st_call)
		tst_brk(TBROK, "no stress row %s", name);
	stress_run(1);
	stress_run(0);
	return tst_exit();
}

#endif
