/* sigaction SA_SIGINFO: the handler gets the signal number, a siginfo with
 * si_signo and si_code (SI_TKILL for raise, SI_USER for kill) and a
 * non-null ucontext whose uc_sigmask is the mask before delivery. */
// tst: static
#include "tst.h"

static volatile int got_sig, got_signo, got_code, uc_ok, mask_ok;

static void h(int sig, siginfo_t *info, void *ucv)
{
	ucontext_t *uc = ucv;
	got_sig = sig;
	got_signo = info->si_signo;
	got_code = info->si_code;
	uc_ok = uc != NULL;
	mask_ok = uc && sigismember(&uc->uc_sigmask, SIGUSR2) && !sigismember(&uc->uc_sigmask, SIGUSR1);
}

int main(void)
{
	tst_sigaction(SIGUSR1, h, 0);
	tst_mask1(SIG_BLOCK, SIGUSR2);
	raise(SIGUSR1);
	TST_EXP_EQ(got_sig, SIGUSR1, "handler's sig");
	TST_EXP_EQ(got_signo, SIGUSR1, "si_signo");
	TST_EXP_EQ(got_code, SI_TKILL, "si_code of raise");
	TST_CHECK(uc_ok, "ucontext given");
	TST_CHECK(mask_ok, "uc_sigmask is the pre-delivery mask");
	kill(getpid(), SIGUSR1);
	TST_EXP_EQ(got_code, SI_USER, "si_code of kill");
	return tst_exit();
}
