/* A handler that edits the fpstate of its ucontext (xmm1, mxcsr rounding)
 * sees the edits take effect at sigreturn. */
// tst: static
#include "tst.h"

static void h(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	(void)si;
	ucontext_t *uc = ucv;
	uc->uc_mcontext.fpregs->_xmm[1].element[0] = 0xdeadbeef;
	uc->uc_mcontext.fpregs->mxcsr = (uc->uc_mcontext.fpregs->mxcsr & ~0x6000u) | 0x6000u; /* toward zero */
	uc->uc_mcontext.gregs[REG_RIP] += 2; /* ud2 */
}

int main(void)
{
	tst_sigaction(SIGILL, h, 0);
	uint32_t x1, mxcsr;
	__asm__ volatile("pxor %%xmm1, %%xmm1\nud2\nmovd %%xmm1, %0\nstmxcsr %1" : "=r"(x1), "=m"(mxcsr) : : "xmm1");
	TST_CHECK(x1 == 0xdeadbeef, "xmm1 edited by the handler");
	TST_EXP_EQ(mxcsr & 0x6000, 0x6000, "mxcsr rounding edited by the handler");
	uint32_t def = 0x1f80;
	__asm__ volatile("ldmxcsr %0" : : "m"(def));
	return tst_exit();
}
