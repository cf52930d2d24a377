/* TF (the trap flag) set by a handler in its ucontext's eflags, or by the
 * program with popf: the CPU single-steps, a SIGTRAP (TRAP_TRACE) after
 * each instruction with rip at the next one, until a SIGTRAP handler
 * clears TF in its ucontext. */
#include "tst.h"

static volatile int traps;
static unsigned long rips[3];
static int codes[3];

static void on_usr1(int sig, siginfo_t *si, void *uc_)
{
	(void)sig;
	(void)si;
	((ucontext_t *)uc_)->uc_mcontext.gregs[REG_EFL] |= 0x100;
}

static void on_trap(int sig, siginfo_t *si, void *uc_)
{
	ucontext_t *uc = uc_;
	(void)sig;
	if (traps < 3) {
		rips[traps] = uc->uc_mcontext.gregs[REG_RIP];
		codes[traps] = si->si_code;
	}
	if (++traps >= 3)
		uc->uc_mcontext.gregs[REG_EFL] &= ~0x100UL;
}

static void report(const char *how)
{
	TST_EXP_EQ(traps, 3, how);
	for (int i = 0; i < 3 && i < traps; i++) {
		TST_EXP_EQ(codes[i], TRAP_TRACE, "si_code");
		/* Each trap one nop (1 byte) further. */
		TST_EXP_EQ((long)(rips[i] - rips[0]), (long)i, "rip step");
	}
}

int main(void)
{
	tst_sigaction(SIGUSR1, on_usr1, 0);
	tst_sigaction(SIGTRAP, on_trap, 0);
	/* kill(getpid(), SIGUSR1) as a raw syscall, then nops to step over. */
	asm volatile("mov $62, %%eax; mov %0, %%edi; mov $10, %%esi; syscall; nop; nop; nop; nop"
		     : : "r"(getpid()) : "rax", "rdi", "rsi", "rcx", "r11", "memory");
	report("traps after a handler set TF");
	traps = 0;
	asm volatile("pushf; orl $0x100, (%%rsp); popf; nop; nop; nop; nop; nop" : : : "memory", "cc");
	report("traps after popf set TF");
	return tst_exit();
}
