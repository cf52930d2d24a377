/* All 64 signals are usable: raw rt_sigaction on 32 and 33 (glibc keeps
 * them from sigaction) installs handlers, and tgkill delivers them. */
// tst: static
#include "tst.h"

#define SA_RESTORER 0x04000000

struct ksa {
	void (*h)(int, siginfo_t *, void *);
	unsigned long flags;
	void (*restorer)(void);
	unsigned long mask;
};

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = tst_handler;
	sa.sa_flags = SA_SIGINFO;
	TST_EXP_FAIL(sigaction(32, &sa, NULL), EINVAL);
	/* Borrow glibc's restorer: install via sigaction on SIGUSR1, read it back raw. */
	SAFE(sigaction(SIGUSR1, &sa, NULL));
	struct ksa k;
	SAFE(syscall(SYS_rt_sigaction, SIGUSR1, NULL, &k, 8));
	TST_CHECK(k.flags & SA_RESTORER, "glibc sets SA_RESTORER");
	for (int sig = 32; sig <= 33; sig++) {
		TST_EXP_OK(syscall(SYS_rt_sigaction, sig, &k, NULL, 8));
		struct ksa back;
		SAFE(syscall(SYS_rt_sigaction, sig, NULL, &back, 8));
		TST_CHECK(back.h == tst_handler && (back.flags & SA_SIGINFO), "signal %d reads back", sig);
		SAFE(syscall(SYS_tgkill, getpid(), tst_gettid(), sig));
		TST_EXP_EQ(tst_sig_count[sig], 1, "deliveries of the signal");
		TST_EXP_EQ(tst_sig_info[sig].si_code, SI_TKILL, "si_code");
	}
	return tst_exit();
}
