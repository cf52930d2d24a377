/*
 * The restart/EINTR matrix (signal(7), "Interruption of system calls and
 * library functions by signal handlers"): one table row per blocking call,
 * run under every disposition of the interrupting signal. A scenario file
 * `restart_NAME.c` is one line: `return matrix_main("NAME");`.
 *
 * For each cell the scenario forks a helper. The helper waits until the
 * caller sleeps in the call (its /proc state is `S`), interrupts it as the
 * column says, waits until the caller is asleep again, then does what makes
 * the call succeed (writes the pipe, wakes the futex, ...). The caller
 * checks the result against the rule of the row:
 *
 *   RULE_RESTART  restarted after an SA_RESTART handler, EINTR without
 *                 (read, write, wait4, waitid, untimed futex, flock, open,
 *                 accept/recv without SO_RCVTIMEO);
 *   RULE_EINTR    EINTR after any handler (poll, select, epoll, ppoll,
 *                 pselect6, sigtimedwait, msgrcv, semop, timed futex,
 *                 sockets with SO_RCVTIMEO);
 *   RULE_SLEEP    EINTR after any handler, with the time left in `rem`
 *                 (nanosleep, clock_nanosleep);
 *   RULE_SIGWAIT  returns only for a handled signal (pause, sigsuspend):
 *                 EINTR, whichever signal ended it.
 *
 * A signal that is ignored (SIG_IGN, or SIG_DFL with an ignore default) or
 * blocked never interrupts anything; a blocked one stays pending and runs
 * its handler once unblocked. A stop (SIGSTOP then SIGCONT, no handler)
 * makes a few calls fail with EINTR (`stop_eintr`, signal(7)'s list);
 * every other call resumes as if nothing happened.
 */
#ifndef RESTART_MATRIX_H
#define RESTART_MATRIX_H

#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/file.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/select.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tst.h"

/* The interrupting signal. A scenario may pick another one before including
 * this file: tern's reserved signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL,
 * SIGTRAP) sent with kill must follow the same rules (`restart_reserved_*`). */
#ifndef MX_SIG
#define MX_SIG SIGUSR1
#endif

/* What a call function returns when the call completed as it should. */
#define MX_DONE 0L
/* How long a RULE_SLEEP call sleeps, in nanoseconds. */
#define MX_SLEEP_NS 150000000L

enum mx_rule { RULE_RESTART, RULE_EINTR, RULE_SLEEP, RULE_SIGWAIT };

enum mx_disp { D_RESTART, D_NORESTART, D_IGNORE, D_DFL_IGNORE, D_BLOCK, D_STOPCONT, D_COUNT };

static const char *const mx_disp_name[D_COUNT] = {
	"handler with SA_RESTART", "handler without SA_RESTART", "SIG_IGN",
	"SIG_DFL ignored (SIGWINCH)", "blocked", "SIGSTOP+SIGCONT",
};

/* Counters the handlers bump, in memory shared with the helper. */
struct mx_shared {
	volatile sig_atomic_t usr1_hits;
	volatile sig_atomic_t usr2_hits;
	volatile int futex_word;
};

/* One cell's resources. */
struct mx {
	struct mx_shared *sh;
	pid_t parent;
	pid_t parent_tid;
	pid_t helper;
	int reaped;
	int fd[2];
	int fd2;
	int id;
	char path[108];
	struct timespec req, rem;
	struct timespec abs_deadline;
};

struct mx_call {
	const char *name;
	enum mx_rule rule;
	/* Fails with EINTR after SIGSTOP+SIGCONT without a handler (signal(7)). */
	int stop_eintr;
	/* Prepares the cell; -1 with errno: the call cannot be tried here (CONF). */
	int (*setup)(struct mx *m);
	/* Makes the call; MX_DONE when it completed, else -1 with errno (or a
	 * stray value, reported). */
	long (*call)(struct mx *m);
	/* Run by the helper last: makes the call complete (NULL: it completes
	 * on its own, by its timeout or by the helper's exit). */
	void (*complete)(struct mx *m);
	void (*teardown)(struct mx *m);
};

static struct mx_shared *mx_sh;

static void mx_on_usr1(int sig)
{
	(void)sig;
	mx_sh->usr1_hits++;
}

static void mx_on_usr2(int sig)
{
	(void)sig;
	mx_sh->usr2_hits++;
}

static long mx_ns(const struct timespec *t)
{
	return t->tv_sec * 1000000000L + t->tv_nsec;
}

static long mx_now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return mx_ns(&t);
}

/* ---- resources shared by several rows ---- */

static int mx_pipe(struct mx *m)
{
	return pipe(m->fd);
}

static void mx_close_fds(struct mx *m)
{
	close(m->fd[0]);
	close(m->fd[1]);
	if (m->fd2 >= 0)
		close(m->fd2);
}

static void mx_write_byte(struct mx *m)
{
	if (write(m->fd[1], "x", 1) != 1)
		_exit(3);
}

static long mx_expect(long r, long want)
{
	return r == want ? MX_DONE : r;
}

/* ---- the rows ---- */

static long c_read(struct mx *m)
{
	char c;
	return mx_expect(read(m->fd[0], &c, 1), 1);
}

static int s_full_pipe(struct mx *m)
{
	char buf[4096];
	if (pipe(m->fd))
		return -1;
	fcntl(m->fd[1], F_SETPIPE_SZ, 4096);
	fcntl(m->fd[1], F_SETFL, O_NONBLOCK);
	memset(buf, 'y', sizeof(buf));
	while (write(m->fd[1], buf, sizeof(buf)) > 0 || write(m->fd[1], buf, 1) > 0)
		;
	fcntl(m->fd[1], F_SETFL, 0);
	return 0;
}

static long c_write(struct mx *m)
{
	return mx_expect(write(m->fd[1], "z", 1), 1);
}

static void k_drain(struct mx *m)
{
	char buf[65536];
	fcntl(m->fd[0], F_SETFL, O_NONBLOCK);
	if (read(m->fd[0], buf, sizeof(buf)) <= 0)
		_exit(3);
}

static long c_wait4(struct mx *m)
{
	int st;
	long r = wait4(m->helper, &st, 0, NULL);
	if (r == m->helper)
		m->reaped = 1;
	return mx_expect(r, m->helper);
}

static long c_waitid(struct mx *m)
{
	siginfo_t si;
	long r;
	memset(&si, 0, sizeof(si));
	r = waitid(P_PID, m->helper, &si, WEXITED);
	if (r == 0 && si.si_pid == m->helper) {
		m->reaped = 1;
		return MX_DONE;
	}
	return r == 0 ? -2 : r;
}

static int s_none(struct mx *m)
{
	(void)m;
	return 0;
}

static void t_none(struct mx *m)
{
	(void)m;
}

static int s_futex(struct mx *m)
{
	m->sh->futex_word = 0;
	return 0;
}

static long c_futex(struct mx *m)
{
	return syscall(SYS_futex, &m->sh->futex_word, FUTEX_WAIT, 0, NULL, NULL, 0);
}

static long c_futex_timed(struct mx *m)
{
	struct timespec t = { 10, 0 };
	return syscall(SYS_futex, &m->sh->futex_word, FUTEX_WAIT, 0, &t, NULL, 0);
}

static void k_futex(struct mx *m)
{
	m->sh->futex_word = 1;
	syscall(SYS_futex, &m->sh->futex_word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static long c_nanosleep(struct mx *m)
{
	return nanosleep(&m->req, &m->rem);
}

static long c_clock_nanosleep(struct mx *m)
{
	int e = clock_nanosleep(CLOCK_MONOTONIC, 0, &m->req, &m->rem);
	errno = e;
	return e ? -1 : MX_DONE;
}

static long c_clock_nanosleep_abs(struct mx *m)
{
	int e;
	clock_gettime(CLOCK_MONOTONIC, &m->abs_deadline);
	m->abs_deadline.tv_nsec += MX_SLEEP_NS;
	if (m->abs_deadline.tv_nsec >= 1000000000L) {
		m->abs_deadline.tv_nsec -= 1000000000L;
		m->abs_deadline.tv_sec++;
	}
	e = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &m->abs_deadline, &m->rem);
	errno = e;
	return e ? -1 : MX_DONE;
}

static long c_poll(struct mx *m)
{
	struct pollfd p = { m->fd[0], POLLIN, 0 };
	return mx_expect(poll(&p, 1, -1), 1);
}

static long c_ppoll(struct mx *m)
{
	struct pollfd p = { m->fd[0], POLLIN, 0 };
	sigset_t cur;
	(void)m;
	sigprocmask(SIG_SETMASK, NULL, &cur);
	return mx_expect(ppoll(&p, 1, NULL, &cur), 1);
}

static long c_select(struct mx *m)
{
	fd_set r;
	struct timeval tv = { 10, 0 };
	FD_ZERO(&r);
	FD_SET(m->fd[0], &r);
	return mx_expect(select(m->fd[0] + 1, &r, NULL, NULL, &tv), 1);
}

static long c_pselect(struct mx *m)
{
	fd_set r;
	struct timespec ts = { 10, 0 };
	sigset_t cur;
	sigprocmask(SIG_SETMASK, NULL, &cur);
	FD_ZERO(&r);
	FD_SET(m->fd[0], &r);
	return mx_expect(pselect(m->fd[0] + 1, &r, NULL, NULL, &ts, &cur), 1);
}

static int s_epoll(struct mx *m)
{
	struct epoll_event ev = { .events = EPOLLIN };
	if (pipe(m->fd))
		return -1;
	m->fd2 = epoll_create1(0);
	if (m->fd2 < 0)
		return -1;
	ev.data.fd = m->fd[0];
	return epoll_ctl(m->fd2, EPOLL_CTL_ADD, m->fd[0], &ev);
}

static long c_epoll_wait(struct mx *m)
{
	struct epoll_event ev;
	return mx_expect(epoll_wait(m->fd2, &ev, 1, -1), 1);
}

static long c_epoll_pwait(struct mx *m)
{
	struct epoll_event ev;
	sigset_t cur;
	sigprocmask(SIG_SETMASK, NULL, &cur);
	return mx_expect(epoll_pwait(m->fd2, &ev, 1, 10000, &cur), 1);
}

/* pause and sigsuspend end only for a handled signal: the completion is a
 * SIGUSR2, whose handler runs under SA_RESTART. */
static long mx_sigwait_result(struct mx *m, long r)
{
	if (r == -1 && errno == EINTR && m->sh->usr2_hits)
		return MX_DONE;
	return r;
}

static long c_pause(struct mx *m)
{
	return mx_sigwait_result(m, pause());
}

static long c_sigsuspend(struct mx *m)
{
	sigset_t cur;
	sigprocmask(SIG_SETMASK, NULL, &cur);
	return mx_sigwait_result(m, sigsuspend(&cur));
}

static void k_usr2(struct mx *m)
{
	kill(m->parent, SIGUSR2);
}

static long c_sigtimedwait(struct mx *m)
{
	sigset_t set, old;
	struct timespec ts = { 10, 0 };
	long r;
	(void)m;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, &old);
	r = mx_expect(sigtimedwait(&set, NULL, &ts), SIGUSR2);
	{
		int e = errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
		errno = e;
	}
	return r;
}

struct mx_msg {
	long mtype;
	char text[8];
};

static int s_msg(struct mx *m)
{
	m->id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	return m->id < 0 ? -1 : 0;
}

static long c_msgrcv(struct mx *m)
{
	struct mx_msg msg;
	return mx_expect(msgrcv(m->id, &msg, sizeof(msg.text), 0, 0), sizeof(msg.text));
}

static void k_msgsnd(struct mx *m)
{
	struct mx_msg msg = { 1, "message" };
	msgsnd(m->id, &msg, sizeof(msg.text), IPC_NOWAIT);
}

static void t_msg(struct mx *m)
{
	msgctl(m->id, IPC_RMID, NULL);
}

static int s_sem(struct mx *m)
{
	m->id = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
	return m->id < 0 ? -1 : 0;
}

static long c_semop(struct mx *m)
{
	struct sembuf op = { 0, -1, 0 };
	return semop(m->id, &op, 1);
}

static void k_semop(struct mx *m)
{
	struct sembuf op = { 0, 1, 0 };
	semop(m->id, &op, 1);
}

static void t_sem(struct mx *m)
{
	semctl(m->id, 0, IPC_RMID);
}

static int mx_rcvtimeo(int fd)
{
	struct timeval tv = { 10, 0 };
	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static socklen_t mx_unix_addr(struct mx *m, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	/* Abstract name: nothing to clean up. */
	snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "tern-ltp-mx-%d", (int)m->parent);
	return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(a->sun_path + 1);
}

static int s_listen(struct mx *m)
{
	struct sockaddr_un a;
	socklen_t len = mx_unix_addr(m, &a);
	m->fd[0] = socket(AF_UNIX, SOCK_STREAM, 0);
	m->fd[1] = -1;
	if (m->fd[0] < 0 || bind(m->fd[0], (struct sockaddr *)&a, len) || listen(m->fd[0], 4))
		return -1;
	return 0;
}

static int s_listen_timeo(struct mx *m)
{
	return s_listen(m) ? -1 : mx_rcvtimeo(m->fd[0]);
}

static long c_accept(struct mx *m)
{
	int fd = accept(m->fd[0], NULL, NULL);
	if (fd < 0)
		return -1;
	close(fd);
	return MX_DONE;
}

static void k_connect(struct mx *m)
{
	struct sockaddr_un a;
	socklen_t len = mx_unix_addr(m, &a);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	connect(fd, (struct sockaddr *)&a, len);
}

static int s_socketpair(struct mx *m)
{
	return socketpair(AF_UNIX, SOCK_STREAM, 0, m->fd);
}

static int s_socketpair_timeo(struct mx *m)
{
	return s_socketpair(m) ? -1 : mx_rcvtimeo(m->fd[0]);
}

static long c_recv(struct mx *m)
{
	char c;
	return mx_expect(recv(m->fd[0], &c, 1, 0), 1);
}

static int s_flock(struct mx *m)
{
	char name[] = "/tmp/tern-ltp-flock-XXXXXX";
	m->fd[0] = mkstemp(name);
	if (m->fd[0] < 0)
		return -1;
	m->fd[1] = open(name, O_RDWR);
	unlink(name);
	if (m->fd[1] < 0)
		return -1;
	/* The helper inherits fd[0]'s open file description, so it owns this
	 * lock too and can drop it. */
	return flock(m->fd[0], LOCK_EX);
}

static long c_flock(struct mx *m)
{
	return flock(m->fd[1], LOCK_EX);
}

static void k_unlock(struct mx *m)
{
	flock(m->fd[0], LOCK_UN);
}

static int s_fifo(struct mx *m)
{
	snprintf(m->path, sizeof(m->path), "/tmp/tern-ltp-fifo-%d", (int)m->parent);
	unlink(m->path);
	m->fd[0] = m->fd[1] = -1;
	return mkfifo(m->path, 0600);
}

static long c_fifo_open(struct mx *m)
{
	m->fd[0] = open(m->path, O_RDONLY);
	return m->fd[0] < 0 ? -1 : MX_DONE;
}

static void k_fifo_writer(struct mx *m)
{
	/* Non-blocking: if the reader gave up already this fails (ENXIO). */
	int fd = open(m->path, O_WRONLY | O_NONBLOCK);
	if (fd >= 0)
		close(fd);
}

static void t_fifo(struct mx *m)
{
	if (m->fd[0] >= 0)
		close(m->fd[0]);
	unlink(m->path);
}

/* The one table. */
static const struct mx_call mx_calls[] = {
	{ "read_pipe", RULE_RESTART, 0, mx_pipe, c_read, mx_write_byte, mx_close_fds },
	{ "write_pipe", RULE_RESTART, 0, s_full_pipe, c_write, k_drain, mx_close_fds },
	{ "wait4", RULE_RESTART, 0, s_none, c_wait4, NULL, t_none },
	{ "waitid", RULE_RESTART, 0, s_none, c_waitid, NULL, t_none },
	{ "futex_wait", RULE_RESTART, 0, s_futex, c_futex, k_futex, t_none },
	{ "futex_wait_timed", RULE_EINTR, 0, s_futex, c_futex_timed, k_futex, t_none },
	{ "nanosleep", RULE_SLEEP, 0, s_none, c_nanosleep, NULL, t_none },
	{ "clock_nanosleep", RULE_SLEEP, 0, s_none, c_clock_nanosleep, NULL, t_none },
	{ "clock_nanosleep_abs", RULE_SLEEP, 0, s_none, c_clock_nanosleep_abs, NULL, t_none },
	{ "poll", RULE_EINTR, 0, mx_pipe, c_poll, mx_write_byte, mx_close_fds },
	{ "ppoll", RULE_EINTR, 0, mx_pipe, c_ppoll, mx_write_byte, mx_close_fds },
	{ "select", RULE_EINTR, 0, mx_pipe, c_select, mx_write_byte, mx_close_fds },
	{ "pselect6", RULE_EINTR, 0, mx_pipe, c_pselect, mx_write_byte, mx_close_fds },
	{ "epoll_wait", RULE_EINTR, 1, s_epoll, c_epoll_wait, mx_write_byte, mx_close_fds },
	{ "epoll_pwait", RULE_EINTR, 1, s_epoll, c_epoll_pwait, mx_write_byte, mx_close_fds },
	{ "pause", RULE_SIGWAIT, 0, s_none, c_pause, k_usr2, t_none },
	{ "sigsuspend", RULE_SIGWAIT, 0, s_none, c_sigsuspend, k_usr2, t_none },
	{ "sigtimedwait", RULE_EINTR, 1, s_none, c_sigtimedwait, k_usr2, t_none },
	{ "msgrcv", RULE_EINTR, 0, s_msg, c_msgrcv, k_msgsnd, t_msg },
	{ "semop", RULE_EINTR, 1, s_sem, c_semop, k_semop, t_sem },
	{ "accept", RULE_RESTART, 0, s_listen, c_accept, k_connect, mx_close_fds },
	{ "accept_rcvtimeo", RULE_EINTR, 1, s_listen_timeo, c_accept, k_connect, mx_close_fds },
	{ "recv", RULE_RESTART, 0, s_socketpair, c_recv, mx_write_byte, mx_close_fds },
	{ "recv_rcvtimeo", RULE_EINTR, 1, s_socketpair_timeo, c_recv, mx_write_byte, mx_close_fds },
	{ "flock", RULE_RESTART, 0, s_flock, c_flock, k_unlock, mx_close_fds },
	{ "open_fifo", RULE_RESTART, 0, s_fifo, c_fifo_open, k_fifo_writer, t_fifo },
};

/* ---- the engine ---- */

/* The state letter of the caller's thread in /proc, or 0. */
static char mx_state(const struct mx *m)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)m->parent, (int)m->parent_tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* Polls until the caller's state is (or, with `negate`, is not) `want`,
 * for at most 5 s. */
static void mx_wait_state(const struct mx *m, char want, int negate)
{
	struct timespec nap = { 0, 500000 };
	for (int i = 0; i < 10000; i++) {
		char s = mx_state(m);
		if (negate ? s != want : s == want)
			return;
		nanosleep(&nap, NULL);
	}
}

static void mx_settle(void)
{
	struct timespec nap = { 0, 20000000 };
	nanosleep(&nap, NULL);
}

static void mx_helper(const struct mx_call *c, struct mx *m, enum mx_disp d)
{
	mx_wait_state(m, 'S', 0);
	switch (d) {
	case D_RESTART:
	case D_NORESTART:
		kill(m->parent, MX_SIG);
		/* The handler must have run before the call can complete. */
		for (int i = 0; i < 5000 && !m->sh->usr1_hits; i++)
			usleep(1000);
		break;
	case D_IGNORE:
	case D_BLOCK:
		kill(m->parent, MX_SIG);
		mx_settle();
		break;
	case D_DFL_IGNORE:
		kill(m->parent, SIGWINCH);
		mx_settle();
		break;
	case D_STOPCONT:
		kill(m->parent, SIGSTOP);
		mx_wait_state(m, 'T', 0);
		kill(m->parent, SIGCONT);
		mx_wait_state(m, 'T', 1);
		mx_settle();
		break;
	case D_COUNT:
		break;
	}
	mx_wait_state(m, 'S', 0);
	if (c->complete)
		c->complete(m);
	_exit(0);
}

static void mx_set(int sig, void (*h)(int), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = h;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static int mx_interrupted(const struct mx_call *c, enum mx_disp d)
{
	switch (d) {
	case D_RESTART:
		return c->rule != RULE_RESTART;
	case D_NORESTART:
		return 1;
	case D_STOPCONT:
		return c->stop_eintr;
	default:
		return 0;
	}
}

/* Checks `rem` after an interrupted sleep: 0 < rem <= req + slack and the
 * time slept (req - rem) no more than the time the call took. The kernel
 * arms the timer to expire at req plus the thread's timer slack (50 us by
 * default) and reports what is left of that, so a signal in the first
 * microseconds gives a rem above req (seen natively on a loaded host:
 * 150011999 of 150000000). */
static int mx_rem_ok(const struct mx *m, long elapsed, char *why, size_t len)
{
	long req = mx_ns(&m->req), rem = mx_ns(&m->rem);
	long slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	if (slack < 0)
		slack = 50000;
	if (rem <= 0 || rem > req + slack) {
		snprintf(why, len, "rem %ld ns is not within (0, %ld]", rem, req + slack);
		return 0;
	}
	if (req - rem > elapsed + 1000000) {
		snprintf(why, len, "rem says %ld ns slept, the call took %ld", req - rem, elapsed);
		return 0;
	}
	return 1;
}

static void mx_cell(const struct mx_call *c, enum mx_disp d)
{
	struct mx m;
	sigset_t set, pending;
	long r, t0, elapsed;
	int err, hits_at_return, expect_eintr, ok = 1, st;
	char why[200] = "";
	const char *dn = mx_disp_name[d];

	memset(&m, 0, sizeof(m));
	memset(mx_sh, 0, sizeof(*mx_sh));
	m.sh = mx_sh;
	m.parent = getpid();
	m.parent_tid = (pid_t)syscall(SYS_gettid);
	m.fd2 = -1;
	m.req.tv_nsec = MX_SLEEP_NS;
	if (c->setup(&m)) {
		tst_res(TCONF, "%s: setup failed (%s), not tried", c->name, strerror(errno));
		return;
	}
	mx_set(MX_SIG, d == D_IGNORE ? SIG_IGN : mx_on_usr1, d == D_RESTART ? SA_RESTART : 0);
	mx_set(SIGUSR2, mx_on_usr2, SA_RESTART);
	mx_set(SIGWINCH, SIG_DFL, 0);
	sigemptyset(&set);
	sigaddset(&set, MX_SIG);
	if (d == D_BLOCK)
		sigprocmask(SIG_BLOCK, &set, NULL);
	fflush(stdout);
	m.helper = fork();
	if (m.helper < 0) {
		tst_res(TBROK, "%s, %s: fork: %s", c->name, dn, strerror(errno));
		return;
	}
	if (m.helper == 0)
		mx_helper(c, &m, d);

	t0 = mx_now_ns();
	errno = 0;
	r = c->call(&m);
	err = errno;
	elapsed = mx_now_ns() - t0;
	hits_at_return = mx_sh->usr1_hits;

	if (d == D_BLOCK) {
		sigpending(&pending);
		if (!sigismember(&pending, MX_SIG)) {
			ok = 0;
			snprintf(why, sizeof(why), "the blocked signal is not pending after the call");
		}
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		if (ok && mx_sh->usr1_hits != 1) {
			ok = 0;
			snprintf(why, sizeof(why), "unblocking ran the handler %d times", (int)mx_sh->usr1_hits);
		}
	}
	if (!m.reaped)
		while (waitpid(m.helper, &st, 0) < 0 && errno == EINTR)
			;
	c->teardown(&m);
	mx_set(MX_SIG, SIG_DFL, 0);

	expect_eintr = mx_interrupted(c, d);
	if (!ok) {
		/* why is set */
	} else if (expect_eintr && !(r == -1 && err == EINTR)) {
		ok = 0;
		if (r == MX_DONE)
			snprintf(why, sizeof(why), "completed, expected EINTR");
		else
			snprintf(why, sizeof(why), "returned %ld (%s), expected EINTR", r, r == -1 ? strerror(err) : "-");
	} else if (!expect_eintr && r != MX_DONE) {
		ok = 0;
		snprintf(why, sizeof(why), "returned %ld (%s), expected completion", r, r == -1 ? strerror(err) : "-");
	} else if ((d == D_RESTART || d == D_NORESTART) && hits_at_return != 1) {
		ok = 0;
		snprintf(why, sizeof(why), "handler ran %d times before the call returned", hits_at_return);
	} else if (d != D_RESTART && d != D_NORESTART && hits_at_return != 0) {
		ok = 0;
		snprintf(why, sizeof(why), "a handler ran %d times for a signal that should not run one", hits_at_return);
	} else if (c->rule == RULE_SLEEP && expect_eintr && c->call != c_clock_nanosleep_abs) {
		ok = mx_rem_ok(&m, elapsed, why, sizeof(why));
	} else if (c->rule == RULE_SLEEP && !expect_eintr && elapsed < MX_SLEEP_NS - 1000000) {
		ok = 0;
		snprintf(why, sizeof(why), "slept %ld ns of %ld", elapsed, MX_SLEEP_NS);
	}
	if (ok)
		tst_res(TPASS, "%s, %s: %s", c->name, dn, expect_eintr ? "EINTR" : "completed");
	else
		tst_res(TFAIL, "%s, %s: %s", c->name, dn, why);
}

/* Runs row `name` under every disposition. */
static int matrix_main(const char *name)
{
	const struct mx_call *c = NULL;
	for (size_t i = 0; i < sizeof(mx_calls) / sizeof(mx_calls[0]); i++)
		if (!strcmp(mx_calls[i].name, name))
			c = &mx_calls[i];
	if (!c) {
		tst_res(TBROK, "no matrix row %s", name);
		return tst_exit();
	}
	mx_sh = mmap(NULL, sizeof(*mx_sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mx_sh == MAP_FAILED) {
		tst_res(TBROK, "mmap: %s", strerror(errno));
		return tst_exit();
	}
	for (int d = 0; d < D_COUNT; d++)
		mx_cell(c, (enum mx_disp)d);
	return tst_exit();
}

#endif
