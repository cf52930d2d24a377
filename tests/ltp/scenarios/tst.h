/* tst.h: the little library every tests/ltp scenario includes (tern's own,
 * written in the style of LTP's test API; no LTP code).
 *
 * A scenario is one C program checking one behaviour. Each check prints one
 * line on stdout, "FILE:LINE: PASS|FAIL|CONF|BROK: message", with a single
 * write(2), so it is safe after fork and from several threads; the harness
 * compares these lines (and the exit status) between the native run and the
 * tern run, so messages must be deterministic: no pids, addresses or times
 * in them. Informational lines (TINFO) go to stderr and are not compared.
 *
 * Exit status (LTP's): 0 all passed, 1 a check failed, 2 broken (a setup
 * call failed: SAFE_* / tst_brk), 32 not applicable here (CONF only).
 * End main with `return tst_exit();`, a forked child with `tst_child_exit()`,
 * and reap children with tst_reap(), which folds their verdict into ours.
 */
#ifndef TST_H
#define TST_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"

#define TPASS 0
#define TFAIL 1
#define TBROK 2
#define TCONF 32
#define TINFO 256

static int tst_failed, tst_broken, tst_npass, tst_nconf;

static const char *tst_kind_name(int kind)
{
	switch (kind) {
	case TPASS: return "PASS";
	case TFAIL: return "FAIL";
	case TBROK: return "BROK";
	case TCONF: return "CONF";
	default: return "INFO";
	}
}

static void tst_vres(const char *file, int line, int kind, const char *fmt, va_list ap)
{
	char buf[512];
	int n = snprintf(buf, sizeof buf, "%s:%d: %s: ", file, line, tst_kind_name(kind));
	if (n < 0 || n >= (int)sizeof buf)
		n = 0;
	int m = vsnprintf(buf + n, sizeof buf - n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof buf - 2)
		n = sizeof buf - 2;
	buf[n++] = '\n';
	int fd = kind == TINFO ? 2 : 1;
	for (int off = 0; off < n;) {
		ssize_t w = write(fd, buf + off, n - off);
		if (w <= 0) {
			if (w < 0 && errno == EINTR)
				continue;
			break;
		}
		off += w;
	}
	switch (kind) {
	case TPASS: __atomic_add_fetch(&tst_npass, 1, __ATOMIC_SEQ_CST); break;
	case TFAIL: __atomic_add_fetch(&tst_failed, 1, __ATOMIC_SEQ_CST); break;
	case TBROK: __atomic_add_fetch(&tst_broken, 1, __ATOMIC_SEQ_CST); break;
	case TCONF: __atomic_add_fetch(&tst_nconf, 1, __ATOMIC_SEQ_CST); break;
	}
}

__attribute__((format(printf, 4, 5)))
static void tst_res_(const char *file, int line, int kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tst_vres(file, line, kind, fmt, ap);
	va_end(ap);
}

/* The exit status our results so far call for. */
static int tst_code(void)
{
	if (tst_failed)
		return 1;
	if (tst_broken)
		return 2;
	if (tst_npass == 0 && tst_nconf > 0)
		return 32;
	if (tst_npass == 0) {
		tst_res_(__FILE_NAME__, __LINE__, TBROK, "no result reported");
		return 2;
	}
	return 0;
}

static int tst_exit(void) { return tst_code(); }
static void tst_child_exit(void) { _exit(tst_code()); }

__attribute__((format(printf, 4, 5), noreturn))
static void tst_brk_(const char *file, int line, int kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tst_vres(file, line, kind, fmt, ap);
	va_end(ap);
	_exit(kind == TCONF && !tst_failed && !tst_broken ? tst_code() : (tst_failed ? 1 : 2));
}

/* tst_res(kind, fmt, ...): report one result (or TINFO). */
#define tst_res(kind, ...) tst_res_(__FILE_NAME__, __LINE__, (kind), __VA_ARGS__)
/* tst_brk(TBROK or TCONF, fmt, ...): report and end the process now. */
#define tst_brk(kind, ...) tst_brk_(__FILE_NAME__, __LINE__, (kind), __VA_ARGS__)

/* RLIMIT_SIGPENDING counts the signals queued to every process of the
 * receiving task's real uid on the machine (kernel ucounts), so concurrent
 * tests of the same user eat into a small limit. As root, move to a uid no
 * other process uses (one per pid: scenarios run in parallel), so that
 * the count is this scenario's own. */
static inline void tst_private_sigpending_count(void)
{
	if (geteuid() != 0)
		tst_brk(TCONF, "needs root to get a pending-signal count of its own");
	uid_t uid = 200000 + (uid_t)getpid();
	if (setgid(uid) != 0 || setuid(uid) != 0)
		tst_brk(TCONF, "cannot switch to a private uid");
}

/* The symbolic name of an errno value ("EINTR"), for messages. */
static const char *tst_errname(int e)
{
	const char *s = e ? strerrorname_np(e) : "0";
	return s ? s : "E?";
}

/* SAFE(expr): expr must not return -1 (or MAP_FAILED); else BROK with errno. */
#define SAFE(expr) ({ \
	long tst_r_ = (long)(expr); \
	if (tst_r_ == -1) \
		tst_brk(TBROK, "%s failed: %s", #expr, tst_errname(errno)); \
	tst_r_; })
/* SAFE_PT(expr): a pthread-style call that returns 0 or an error number. */
#define SAFE_PT(expr) do { \
	int tst_e_ = (expr); \
	if (tst_e_) \
		tst_brk(TBROK, "%s failed: %s", #expr, tst_errname(tst_e_)); \
	} while (0)

/* TST_CHECK(cond, fmt, ...): PASS if cond holds, else FAIL; same message. */
#define TST_CHECK(cond, ...) do { \
	if (cond) tst_res(TPASS, __VA_ARGS__); \
	else tst_res(TFAIL, __VA_ARGS__); \
	} while (0)

/* TST_EXP_EQ(got, want, what): two integers must be equal. */
#define TST_EXP_EQ(got, want, what) do { \
	long long tst_g_ = (long long)(got), tst_w_ = (long long)(want); \
	if (tst_g_ == tst_w_) tst_res(TPASS, "%s == %lld", (what), tst_w_); \
	else tst_res(TFAIL, "%s: got %lld, want %lld", (what), tst_g_, tst_w_); \
	} while (0)

/* TST_EXP_OK(expr): expr must not return -1. */
#define TST_EXP_OK(expr) do { \
	errno = 0; \
	long tst_r_ = (long)(expr); \
	if (tst_r_ == -1) tst_res(TFAIL, "%s failed: %s", #expr, tst_errname(errno)); \
	else tst_res(TPASS, "%s succeeded", #expr); \
	} while (0)

/* TST_EXP_FAIL(expr, err): expr must return -1 with errno err. */
#define TST_EXP_FAIL(expr, err) do { \
	errno = 0; \
	long tst_r_ = (long)(expr); \
	int tst_e_ = errno; \
	if (tst_r_ == -1 && tst_e_ == (err)) tst_res(TPASS, "%s: %s", #expr, tst_errname(err)); \
	else if (tst_r_ == -1) tst_res(TFAIL, "%s: %s, want %s", #expr, tst_errname(tst_e_), tst_errname(err)); \
	else tst_res(TFAIL, "%s returned %ld, want -1 %s", #expr, tst_r_, tst_errname(err)); \
	} while (0)

/* ---- processes ---- */

/* fork(); the child starts with no results of its own. */
static pid_t tst_fork(void)
{
	pid_t pid = SAFE(fork());
	if (pid == 0)
		tst_failed = tst_broken = tst_npass = tst_nconf = 0;
	return pid;
}

/* waitpid(pid, &status, flags) retried on EINTR; BROK on other errors. */
static int tst_waitpid(pid_t pid, int flags)
{
	int status;
	pid_t r;
	do
		r = waitpid(pid, &status, flags);
	while (r == -1 && errno == EINTR);
	if (r == -1)
		tst_brk(TBROK, "waitpid failed: %s", tst_errname(errno));
	return status;
}

/* "SIGUSR1", or "SIG34" for a signal without an abbreviation. */
static const char *tst_signame(int sig)
{
	static char buf[4][16];
	static int next;
	char *b = buf[next++ % 4];
	const char *abbrev = sigabbrev_np(sig);
	if (abbrev)
		snprintf(b, 16, "SIG%s", abbrev);
	else
		snprintf(b, 16, "SIG%d", sig);
	return b;
}

/* Describes a wait status for messages: "exited 3", "killed by SIGKILL",
 * "killed by SIGSEGV (core)", "stopped by SIGSTOP", "continued". */
static const char *tst_strstatus(int status)
{
	static char buf[64];
	if (WIFEXITED(status))
		snprintf(buf, sizeof buf, "exited %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, sizeof buf, "killed by %s%s", tst_signame(WTERMSIG(status)),
			 WCOREDUMP(status) ? " (core)" : "");
	else if (WIFSTOPPED(status))
		snprintf(buf, sizeof buf, "stopped by %s", tst_signame(WSTOPSIG(status)));
	else if (WIFCONTINUED(status))
		snprintf(buf, sizeof buf, "continued");
	else
		snprintf(buf, sizeof buf, "status 0x%x", status);
	return buf;
}

/* Waits for child pid (which ended with tst_child_exit) and folds its
 * verdict into ours; a child killed by a signal is a FAIL. */
static void tst_reap(pid_t pid)
{
	int status = tst_waitpid(pid, 0);
	if (WIFSIGNALED(status)) {
		tst_res(TFAIL, "child %s", tst_strstatus(status));
	} else if (WIFEXITED(status)) {
		switch (WEXITSTATUS(status)) {
		case 0: tst_npass++; break;
		case 1: tst_failed++; break;
		case 32: tst_nconf++; break;
		default: tst_broken++; break;
		}
	}
}

/* ---- signals ---- */

/* Counts and the last siginfo/ucontext seen by tst_handler, per signal. */
static volatile sig_atomic_t tst_sig_count[65];
static siginfo_t tst_sig_info[65];
static volatile pid_t tst_sig_tid[65];

static pid_t tst_gettid(void) { return (pid_t)syscall(SYS_gettid); }

/* A handler that records each delivery (count, siginfo, receiving thread). */
static void tst_handler(int sig, siginfo_t *info, void *uc)
{
	(void)uc;
	if (sig > 0 && sig <= 64) {
		if (info)
			tst_sig_info[sig] = *info;
		tst_sig_tid[sig] = tst_gettid();
		tst_sig_count[sig]++;
	}
}

/* sigaction(sig) with handler h (SA_SIGINFO style) and flags; BROK on error. */
static void tst_sigaction(int sig, void (*h)(int, siginfo_t *, void *), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = h;
	sa.sa_flags = flags | SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL))
		tst_brk(TBROK, "sigaction(%d) failed: %s", sig, tst_errname(errno));
}

/* sigaction(sig) with SIG_DFL / SIG_IGN / a plain handler. */
static void tst_signal(int sig, void (*h)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL))
		tst_brk(TBROK, "sigaction(%d) failed: %s", sig, tst_errname(errno));
}

/* Blocks (how = SIG_BLOCK), unblocks or sets one signal in this thread. */
static void tst_mask1(int how, int sig)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	if (sigprocmask(how, &s, NULL))
		tst_brk(TBROK, "sigprocmask failed: %s", tst_errname(errno));
}

static void tst_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Waits up to ms milliseconds (in 1 ms naps) for *flag to become nonzero:
 * true if it did. A check that would otherwise wait forever for a handler. */
static int tst_wait_flag(volatile sig_atomic_t *flag, long ms)
{
	for (long i = 0; i < ms && !*flag; i++) {
		struct timespec ts = { 0, 1000000L };
		nanosleep(&ts, NULL);
	}
	return *flag != 0;
}

/* ---- threads ---- */

/* pthread_create, BROK on failure. */
static pthread_t tst_thread(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	SAFE_PT(pthread_create(&t, NULL, fn, arg));
	return t;
}

#endif
