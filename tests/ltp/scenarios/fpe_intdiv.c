/* SIGFPE from idiv by zero: FPE_INTDIV, si_addr and rip the idiv, trapno 0;
 * a handler that moves rip past it continues after, with rax as it set. */
// tst: static
#include "tst.h"

extern char div_insn[], div_after[];
static siginfo_t got;
static greg_t rip, trapno;

static void h(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	ucontext_t *uc = ucv;
	got = *si;
	rip = uc->uc_mcontext.gregs[REG_RIP];
	trapno = uc->uc_mcontext.gregs[REG_TRAPNO];
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)div_after;
	uc->uc_mcontext.gregs[REG_RAX] = -1;
}

int main(void)
{
	tst_sigaction(SIGFPE, h, 0);
	long q;
	__asm__ volatile("mov $100, %%rax\ncqo\nxor %%ecx, %%ecx\n"
			 ".globl div_insn\ndiv_insn: idivq %%rcx\n"
			 ".globl div_after\ndiv_after: nop\n"
			 : "=a"(q)
			 :
			 : "rcx", "rdx", "cc");
	TST_EXP_EQ(got.si_signo, SIGFPE, "si_signo");
	TST_EXP_EQ(got.si_code, FPE_INTDIV, "si_code");
	TST_CHECK(got.si_addr == div_insn && rip == (greg_t)div_insn, "si_addr and rip are the idiv");
	TST_EXP_EQ(trapno, 0, "trapno");
	TST_EXP_EQ(q, -1, "rax from the handler");
	return tst_exit();
}
