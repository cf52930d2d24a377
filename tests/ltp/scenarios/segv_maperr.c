/* SIGSEGV on an unmapped address: SEGV_MAPERR, si_addr the address, trapno
 * 14, the page-fault error code (user, write bit as the access), rip the
 * faulting instruction; the handler siglongjmps out. */
// tst: static
#include "tst.h"

static sigjmp_buf env;
static siginfo_t got;
static greg_t rip, trapno, err;

static void h(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	ucontext_t *uc = ucv;
	got = *si;
	rip = uc->uc_mcontext.gregs[REG_RIP];
	trapno = uc->uc_mcontext.gregs[REG_TRAPNO];
	err = uc->uc_mcontext.gregs[REG_ERR];
	siglongjmp(env, 1);
}

extern char store_insn[], load_insn[];

__attribute__((noinline)) static void store(char *p)
{
	__asm__ volatile(".globl store_insn\nstore_insn: movl $1, (%0)" : : "r"(p) : "memory");
}

__attribute__((noinline)) static int load(char *p)
{
	int v;
	__asm__ volatile(".globl load_insn\nload_insn: movl (%1), %0" : "=r"(v) : "r"(p) : "memory");
	return v;
}

int main(void)
{
	char *page = (char *)SAFE(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	SAFE(munmap(page, 4096));
	char *bad = page + 123;
	tst_sigaction(SIGSEGV, h, 0);
	if (sigsetjmp(env, 1) == 0) {
		store(bad);
		tst_res(TFAIL, "store did not fault");
	}
	TST_EXP_EQ(got.si_signo, SIGSEGV, "si_signo");
	TST_EXP_EQ(got.si_code, SEGV_MAPERR, "si_code");
	TST_CHECK(got.si_addr == bad, "si_addr is the faulting address");
	TST_EXP_EQ(trapno, 14, "trapno");
	TST_EXP_EQ(err, 6, "error code of a user write to a missing page");
	TST_CHECK(rip == (greg_t)store_insn, "rip is the store");
	if (sigsetjmp(env, 1) == 0) {
		load(bad);
		tst_res(TFAIL, "load did not fault");
	}
	TST_EXP_EQ(err, 4, "error code of a user read of a missing page");
	TST_CHECK(rip == (greg_t)load_insn, "rip is the load");
	return tst_exit();
}
