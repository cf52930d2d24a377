/*
 * Timer floods (issue 12 item 9, signals-conformance 29): a 1 ms
 * ITIMER_REAL interrupts a tight loop that makes no system call, for
 * TERN_LTP_STRESS_N ticks (default FLOOD_DEFAULT_N; the full run uses
 * 100000). Variants (one table): the handler returns or siglongjmps back
 * to the loop, on the normal stack or on an alternate stack. Checks: every
 * tick's handler runs (the loop ends), on the stack it should, the mask
 * is back after each siglongjmp, nothing stalls for long.
 */
#ifndef TIMER_FLOOD_H
#define TIMER_FLOOD_H

#include "tst.h"

#define FLOOD_DEFAULT_N 300

static long flood_n(void)
{
	const char *s = getenv("TERN_LTP_STRESS_N");
	long n = s ? strtol(s, NULL, 10) : 0;
	return n > 0 ? n : FLOOD_DEFAULT_N;
}

struct flood_variant {
	const char *name;
	int longjmp_out;
	int altstack;
};

static const struct flood_variant flood_variants[] = {
	{ "return", 0, 0 },
	{ "return, altstack", 0, 1 },
	{ "siglongjmp", 1, 0 },
	{ "siglongjmp, altstack", 1, 1 },
};

static const struct flood_variant *fv;
static volatile long fl_ticks, fl_wrong_stack;
static char *fl_alt;
static size_t fl_alt_size;
static sigjmp_buf fl_env;

static void fl_on_alarm(int sig)
{
	char here;
	(void)sig;
	int on_alt = fl_alt && &here >= fl_alt && &here < fl_alt + fl_alt_size;
	if (on_alt != fv->altstack)
		fl_wrong_stack++;
	fl_ticks++;
	if (fv->longjmp_out)
		siglongjmp(fl_env, 1);
}

static long fl_now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void flood_run(const struct flood_variant *v)
{
	long n = flood_n();
	volatile long jumps = 0, spins = 0, mask_bad = 0;
	volatile long deadline;
	fv = v;
	fl_ticks = fl_wrong_stack = 0;
	fl_alt_size = 64 * 1024;
	fl_alt = v->altstack ? malloc(fl_alt_size) : NULL;
	if (fl_alt) {
		stack_t ss = { .ss_sp = fl_alt, .ss_size = fl_alt_size, .ss_flags = 0 };
		SAFE(sigaltstack(&ss, NULL));
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fl_on_alarm;
	sa.sa_flags = v->altstack ? SA_ONSTACK : 0;
	sigemptyset(&sa.sa_mask);
	SAFE(sigaction(SIGALRM, &sa, NULL));
	/* Generous: 1 ms ticks, 20x slack plus 5 s. */
	deadline = fl_now_ms() + n * 20 + 5000;
	/* The jump target exists before the first tick can come, and is saved
	 * with SIGALRM blocked: each siglongjmp must restore that mask (so no
	 * tick can land before the jump is counted), then the loop unblocks. */
	sigset_t alrm;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigprocmask(SIG_BLOCK, &alrm, NULL);
	if (sigsetjmp(fl_env, 1)) {
		jumps++;
		sigset_t cur;
		sigprocmask(SIG_SETMASK, NULL, &cur);
		if (!sigismember(&cur, SIGALRM))
			mask_bad++;
	} else {
		struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
		SAFE(setitimer(ITIMER_REAL, &it, NULL));
	}
	sigprocmask(SIG_UNBLOCK, &alrm, NULL);
	while (fl_ticks < n) {
		spins++;
		if ((spins & 0xfffff) == 0 && fl_now_ms() > deadline)
			break;
	}
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_IGN);
	if (fl_alt) {
		stack_t ss = { .ss_flags = SS_DISABLE };
		sigaltstack(&ss, NULL);
		free(fl_alt);
		fl_alt = NULL;
	}
	TST_CHECK(fl_ticks >= n, "%s: every tick handled, the loop ended", v->name);
	TST_CHECK(!fl_wrong_stack, "%s: every handler on the %s stack (%ld wrong)", v->name,
		  v->altstack ? "alternate" : "normal", fl_wrong_stack);
	if (v->longjmp_out) {
		TST_CHECK(jumps == fl_ticks, "%s: each tick jumped back to the loop", v->name);
		TST_CHECK(!mask_bad, "%s: siglongjmp restored the saved mask (%ld wrong)", v->name, mask_bad);
	}
}

static int flood_main(int longjmp_out)
{
	for (size_t i = 0; i < sizeof flood_variants / sizeof flood_variants[0]; i++)
		if (flood_variants[i].longjmp_out == longjmp_out)
			flood_run(&flood_variants[i]);
	return tst_exit();
}

#endif
