/* A call through a null pointer: SEGV_MAPERR with si_addr 0 and rip 0, and
 * the return address of the call on top of the stack in the ucontext. */
// tst: static
#include "tst.h"

static sigjmp_buf env;
static siginfo_t got;
static greg_t rip, ret;

static void h(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	ucontext_t *uc = ucv;
	got = *si;
	rip = uc->uc_mcontext.gregs[REG_RIP];
	ret = *(greg_t *)uc->uc_mcontext.gregs[REG_RSP];
	siglongjmp(env, 1);
}

extern char null_ret[];

int main(void)
{
	tst_sigaction(SIGSEGV, h, 0);
	if (sigsetjmp(env, 1) == 0) {
		__asm__ volatile("xor %%eax, %%eax\ncall *%%rax\n.globl null_ret\nnull_ret: nop" ::: "rax", "memory");
		tst_res(TFAIL, "no fault");
	}
	TST_EXP_EQ(got.si_code, SEGV_MAPERR, "si_code");
	TST_CHECK(got.si_addr == NULL && rip == 0, "si_addr and rip are 0");
	TST_CHECK(ret == (greg_t)null_ret, "return address on the stack");
	return tst_exit();
}
