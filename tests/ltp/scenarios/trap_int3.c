/* SIGTRAP from int3: si_code SI_KERNEL, rip just after the int3, trapno 3;
 * returning from the handler continues after it. */
// tst: static
#include "tst.h"

extern char after_int3[];
static siginfo_t got;
static greg_t rip, trapno;
static volatile int calls;

static void h(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	ucontext_t *uc = ucv;
	got = *si;
	calls++;
	rip = uc->uc_mcontext.gregs[REG_RIP];
	trapno = uc->uc_mcontext.gregs[REG_TRAPNO];
}

int main(void)
{
	tst_sigaction(SIGTRAP, h, 0);
	long v;
	__asm__ volatile("mov $1, %0\nint3\n.globl after_int3\nafter_int3: add $1, %0\n" : "=r"(v) : : "memory", "cc");
	TST_EXP_EQ(calls, 1, "handler calls");
	TST_EXP_EQ(got.si_code, SI_KERNEL, "si_code");
	TST_CHECK(rip == (greg_t)after_int3, "rip after the int3");
	TST_EXP_EQ(trapno, 3, "trapno");
	TST_EXP_EQ(v, 2, "execution continued after the int3");
	return tst_exit();
}
