/* A SIGSEGV handler that moves rip past the faulting load and sets rax in
 * the ucontext: execution continues after the load with the new rax, and
 * the other registers as they were. */
// tst: static
#include "tst.h"

extern char skip_start[], skip_end[];
static volatile int calls;

static void h(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	(void)si;
	ucontext_t *uc = ucv;
	calls++;
	if (uc->uc_mcontext.gregs[REG_RIP] == (greg_t)skip_start) {
		uc->uc_mcontext.gregs[REG_RIP] = (greg_t)skip_end;
		uc->uc_mcontext.gregs[REG_RAX] = 42;
		uc->uc_mcontext.gregs[REG_RDX] += 1000;
	}
}

int main(void)
{
	tst_sigaction(SIGSEGV, h, 0);
	long rax, rdx, r12;
	__asm__ volatile("mov $7, %%rax\n"
			 "mov $5, %%rdx\n"
			 "mov $0x1122334455667788, %%r12\n"
			 ".globl skip_start\nskip_start: movq 8, %%rcx\n"
			 ".globl skip_end\nskip_end: nop\n"
			 : "=a"(rax), "=d"(rdx), "=&r"(r12)
			 :
			 : "rcx", "memory");
	__asm__ volatile("" : : "r"(r12));
	TST_EXP_EQ(calls, 1, "handler calls");
	TST_EXP_EQ(rax, 42, "rax set by the handler");
	TST_EXP_EQ(rdx, 1005, "rdx edited by the handler");
	return tst_exit();
}
