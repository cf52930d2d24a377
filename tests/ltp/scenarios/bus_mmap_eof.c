/* SIGBUS when touching a mapped file past its end (a whole page beyond
 * EOF): BUS_ADRERR, si_addr the address; the page within the file reads. */
// tst: static
#include "tst.h"

static sigjmp_buf env;
static siginfo_t got;

static void h(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	got = *si;
	siglongjmp(env, 1);
}

int main(void)
{
	int fd = SAFE(memfd_create("tst", 0));
	SAFE(ftruncate(fd, 100));
	volatile char *p = (char *)SAFE(mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
	tst_sigaction(SIGBUS, h, 0);
	p[50] = 7;
	TST_EXP_EQ(p[50] + p[200], 7, "the page holding the file's end reads and writes");
	if (sigsetjmp(env, 1) == 0) {
		(void)p[4096 + 8];
		tst_res(TFAIL, "no SIGBUS");
	}
	TST_EXP_EQ(got.si_signo, SIGBUS, "si_signo");
	TST_EXP_EQ(got.si_code, BUS_ADRERR, "si_code");
	TST_CHECK(got.si_addr == p + 4096 + 8, "si_addr");
	return tst_exit();
}
