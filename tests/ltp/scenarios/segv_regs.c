/* The ucontext of a fault holds the registers and flags of the faulting
 * instruction: callee-saved GPRs, CF and DF as set, xmm0 in the fpstate;
 * DF is clear in the handler; the handler skips the instruction. */
// tst: static
#include "tst.h"

extern char regs_fault[], regs_after[];
static greg_t g[NGREG];
static uint32_t xmm0[4];
static unsigned long handler_flags;
static volatile int calls;

static void h(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	(void)si;
	ucontext_t *uc = ucv;
	unsigned long f;
	__asm__ volatile("pushfq; pop %0" : "=r"(f));
	handler_flags = f;
	calls++;
	memcpy(g, uc->uc_mcontext.gregs, sizeof g);
	memcpy(xmm0, uc->uc_mcontext.fpregs->_xmm[0].element, sizeof xmm0);
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)regs_after;
}

int main(void)
{
	tst_sigaction(SIGSEGV, h, 0);
	static const uint32_t pattern[4] = { 0x01020304, 0x05060708, 0x090a0b0c, 0x0d0e0f10 };
	__asm__ volatile("push %%rbx\npush %%rbp\npush %%r12\npush %%r13\npush %%r14\npush %%r15\n"
			 "movdqu (%0), %%xmm0\n"
			 "mov $0x1111, %%rbx\nmov $0x2222, %%rbp\nmov $0x3333, %%r12\n"
			 "mov $0x4444, %%r13\nmov $0x5555, %%r14\nmov $0x6666, %%r15\n"
			 "mov $0x7777, %%rsi\nmov $0x8888, %%rdi\n"
			 "stc\nstd\n"
			 ".globl regs_fault\nregs_fault: movq 16, %%rax\n"
			 ".globl regs_after\nregs_after: cld\n"
			 "pop %%r15\npop %%r14\npop %%r13\npop %%r12\npop %%rbp\npop %%rbx\n"
			 :
			 : "r"(pattern)
			 : "rax", "rsi", "rdi", "xmm0", "memory", "cc");
	TST_EXP_EQ(calls, 1, "handler calls");
	TST_CHECK(g[REG_RIP] == (greg_t)regs_fault, "rip");
	TST_CHECK(g[REG_RBX] == 0x1111 && g[REG_RBP] == 0x2222 && g[REG_R12] == 0x3333 && g[REG_R13] == 0x4444 &&
			  g[REG_R14] == 0x5555 && g[REG_R15] == 0x6666 && g[REG_RSI] == 0x7777 && g[REG_RDI] == 0x8888,
		  "general registers");
	TST_EXP_EQ(g[REG_EFL] & 1, 1, "CF in the ucontext");
	TST_EXP_EQ(g[REG_EFL] & 0x400, 0x400, "DF in the ucontext");
	TST_EXP_EQ(handler_flags & 0x400, 0, "DF in the handler");
	TST_CHECK(memcmp(xmm0, pattern, sizeof xmm0) == 0, "xmm0 in the fpstate");
	return tst_exit();
}
