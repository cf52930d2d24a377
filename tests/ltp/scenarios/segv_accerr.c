/* SIGSEGV on a mapped page without the right: SEGV_ACCERR; writing a
 * present read-only page gives error code 7, executing a non-executable
 * page sets the instruction-fetch bit with rip = si_addr = the page. */
// tst: static
#include "tst.h"

static sigjmp_buf env;
static siginfo_t got;
static greg_t rip, err;

static void h(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	ucontext_t *uc = ucv;
	got = *si;
	rip = uc->uc_mcontext.gregs[REG_RIP];
	err = uc->uc_mcontext.gregs[REG_ERR];
	siglongjmp(env, 1);
}

int main(void)
{
	volatile char *ro = (char *)SAFE(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	char *rw = (char *)SAFE(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	tst_sigaction(SIGSEGV, h, 0);
	(void)ro[10];
	if (sigsetjmp(env, 1) == 0) {
		ro[10] = 1;
		tst_res(TFAIL, "write to a read-only page did not fault");
	}
	TST_EXP_EQ(got.si_code, SEGV_ACCERR, "si_code of the write");
	TST_CHECK(got.si_addr == ro + 10, "si_addr of the write");
	TST_EXP_EQ(err, 7, "error code of the write");
	rw[0] = (char)0xc3; /* ret */
	if (sigsetjmp(env, 1) == 0) {
		((void (*)(void))rw)();
		tst_res(TFAIL, "executing a non-executable page did not fault");
	}
	TST_EXP_EQ(got.si_code, SEGV_ACCERR, "si_code of the fetch");
	TST_CHECK(got.si_addr == rw && rip == (greg_t)rw, "si_addr and rip are the page");
	TST_EXP_EQ(err & 0x10, 0x10, "instruction-fetch bit");
	TST_EXP_EQ(err & 2, 0, "write bit of the fetch");
	return tst_exit();
}
