/* si_overrun and si_value as a handler sees them: a 1 ms timer whose
 * signal stays blocked for 20 ms is delivered once on unblocking, and the
 * SA_SIGINFO handler of that first delivery sees the overrun count. */
#include "tst.h"

static volatile sig_atomic_t hits;
static siginfo_t first;

static void on_timer(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (hits++ == 0)
		first = *si;
}

int main(void)
{
	timer_t t;
	struct sigevent sev;
	struct itimerspec its = { { 0, 1000000 }, { 0, 1000000 } }, off = { { 0, 0 }, { 0, 0 } };
	tst_sigaction(SIGRTMIN + 4, on_timer, 0);
	tst_mask1(SIG_BLOCK, SIGRTMIN + 4);
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGRTMIN + 4;
	sev.sigev_value.sival_ptr = &sev;
	SAFE(timer_create(CLOCK_MONOTONIC, &sev, &t));
	SAFE(timer_settime(t, 0, &its, NULL));
	tst_sleep_ms(20);
	TST_EXP_EQ(hits, 0, "blocked: not delivered");
	tst_mask1(SIG_UNBLOCK, SIGRTMIN + 4);
	TST_CHECK(hits >= 1, "delivered on unblocking");
	SAFE(timer_settime(t, 0, &off, NULL));
	TST_CHECK(first.si_overrun >= 5, "the handler sees si_overrun");
	TST_CHECK(first.si_value.sival_ptr == &sev, "the handler sees si_value");
	TST_EXP_EQ(first.si_code, SI_TIMER, "si_code");
	return tst_exit();
}
