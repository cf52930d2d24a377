/* SIGILL from ud2 and from a lock prefix on a register operand:
 * ILL_ILLOPN, si_addr and rip the instruction, trapno 6; the handler skips
 * it and execution goes on. */
// tst: static
#include "tst.h"

extern char ud2_insn[], lock_insn[];
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
	uc->uc_mcontext.gregs[REG_RIP] += rip == (greg_t)ud2_insn ? 2 : 3;
}

int main(void)
{
	tst_sigaction(SIGILL, h, 0);
	__asm__ volatile(".globl ud2_insn\nud2_insn: ud2\n" ::: "memory");
	TST_EXP_EQ(calls, 1, "ud2: handler calls");
	TST_EXP_EQ(got.si_code, ILL_ILLOPN, "ud2: si_code");
	TST_CHECK(got.si_addr == ud2_insn && rip == (greg_t)ud2_insn, "ud2: si_addr and rip");
	TST_EXP_EQ(trapno, 6, "ud2: trapno");
	__asm__ volatile(".globl lock_insn\nlock_insn: .byte 0xf0, 0x01, 0xc3\n" ::: "memory", "cc");
	TST_EXP_EQ(calls, 2, "lock add reg: handler calls");
	TST_EXP_EQ(got.si_code, ILL_ILLOPN, "lock add reg: si_code");
	TST_CHECK(got.si_addr == lock_insn && rip == (greg_t)lock_insn, "lock add reg: si_addr and rip");
	return tst_exit();
}
