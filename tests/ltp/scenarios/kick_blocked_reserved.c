/* A reserved signal (tern keeps SIGSEGV and SIGTRAP for its own faults)
 * sent to a thread that blocks it while the thread sleeps in a call that a
 * handler would interrupt (poll, epoll_wait, select, nanosleep,
 * sigtimedwait, timed futex): natively nothing interrupts the call, it
 * ends by its timeout and the signals are pending for the thread. Under
 * tern the sends wake the thread with its internal kick (rt_tgsigqueueinfo
 * to another thread is queued by tern, then kicked) or with the reserved
 * signal itself (tgkill): neither may show as EINTR. */
#include "tst.h"
#include <linux/futex.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>

#define TIMEOUT_MS 300

static pthread_barrier_t bar;
static volatile pid_t ttid;
static int epfd;
static int futex_word;

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

static long c_poll(void)
{
	return poll(NULL, 0, TIMEOUT_MS);
}

static long c_epoll(void)
{
	struct epoll_event ev;
	return epoll_wait(epfd, &ev, 1, TIMEOUT_MS);
}

static long c_select(void)
{
	struct timeval tv = { 0, TIMEOUT_MS * 1000L };
	return select(0, NULL, NULL, NULL, &tv);
}

static long c_nanosleep(void)
{
	struct timespec ts = { 0, TIMEOUT_MS * 1000000L }, rem;
	return nanosleep(&ts, &rem);
}

static long c_sigtimedwait(void)
{
	sigset_t s;
	struct timespec ts = { 0, TIMEOUT_MS * 1000000L };
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	long r = sigtimedwait(&s, NULL, &ts);
	return r == -1 && errno == EAGAIN ? 0 : (r == -1 ? -1 : 99);
}

static long c_futex(void)
{
	struct timespec ts = { 0, TIMEOUT_MS * 1000000L };
	long r = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
	return r == -1 && errno == ETIMEDOUT ? 0 : (r == -1 ? -1 : 99);
}

static const struct {
	const char *name;
	long (*call)(void);
} calls[] = {
	{ "poll", c_poll },
	{ "epoll_wait", c_epoll },
	{ "select", c_select },
	{ "nanosleep", c_nanosleep },
	{ "sigtimedwait", c_sigtimedwait },
	{ "futex_wait", c_futex },
};
#define NCALLS (sizeof(calls) / sizeof(calls[0]))

static void *thr(void *arg)
{
	(void)arg;
	sigset_t s, p;
	sigemptyset(&s);
	sigaddset(&s, SIGSEGV);
	sigaddset(&s, SIGTRAP);
	sigprocmask(SIG_BLOCK, &s, NULL);
	ttid = tst_gettid();
	for (size_t i = 0; i < NCALLS; i++) {
		pthread_barrier_wait(&bar);
		long t0 = now_ms();
		errno = 0;
		long r = calls[i].call();
		int e = errno;
		long took = now_ms() - t0;
		TST_CHECK(r == 0, "%s ends by its timeout (returned %ld, %s)", calls[i].name, r,
			  r == -1 ? tst_errname(e) : "-");
		TST_CHECK(took >= TIMEOUT_MS - 5, "%s slept its whole timeout (%s)", calls[i].name,
			  took >= TIMEOUT_MS - 5 ? "yes" : "no");
		sigpending(&p);
		TST_CHECK(sigismember(&p, SIGSEGV) && sigismember(&p, SIGTRAP),
			  "%s: SIGSEGV and SIGTRAP pending for the thread", calls[i].name);
		struct timespec zero = { 0, 0 };
		int got = 0;
		while (sigtimedwait(&s, NULL, &zero) > 0)
			got++;
		TST_EXP_EQ(got, 2, "signals taken back");
		pthread_barrier_wait(&bar);
	}
	return NULL;
}

/* The state letter of thread `tid` of this process. */
static char state(pid_t tid)
{
	char path[64], buf[512], *q;
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	q = strrchr(buf, ')');
	return q && q[1] == ' ' ? q[2] : 0;
}

int main(void)
{
	epfd = epoll_create1(0);
	pthread_barrier_init(&bar, NULL, 2);
	pthread_t t = tst_thread(thr, NULL);
	for (size_t i = 0; i < NCALLS; i++) {
		pthread_barrier_wait(&bar);
		for (int k = 0; k < 1000 && state(ttid) != 'S'; k++)
			tst_sleep_ms(1);
		tst_sleep_ms(30);
		siginfo_t si;
		memset(&si, 0, sizeof si);
		si.si_signo = SIGSEGV;
		si.si_code = SI_QUEUE;
		si.si_pid = getpid();
		si.si_uid = getuid();
		SAFE(syscall(SYS_rt_tgsigqueueinfo, getpid(), ttid, SIGSEGV, &si));
		tst_sleep_ms(30);
		SAFE(syscall(SYS_tgkill, getpid(), ttid, SIGTRAP));
		pthread_barrier_wait(&bar);
	}
	pthread_join(t, NULL);
	return tst_exit();
}
