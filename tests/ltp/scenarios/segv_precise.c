/* A faulting instruction never runs twice and the ones before it run
 * once: in a straight line "inc a; load from a protected page; inc b", the
 * handler makes the page readable and returns; a and b are 1, and a
 * rep movsb that faults half-way resumes where it stopped. */
// tst: static
#include "tst.h"

static char *page;
static volatile int calls;

static void h(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	calls++;
	char *p = (char *)((uintptr_t)si->si_addr & ~4095UL);
	mprotect(p, 4096, PROT_READ | PROT_WRITE);
}

int main(void)
{
	page = (char *)SAFE(mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	page[100] = 9;
	SAFE(mprotect(page, 4096, PROT_NONE));
	tst_sigaction(SIGSEGV, h, 0);
	static long a, b;
	long v;
	__asm__ volatile("incq %1\nmovzbq 100(%3), %0\nincq %2\n" : "=&r"(v), "+m"(a), "+m"(b) : "r"(page) : "memory", "cc");
	TST_EXP_EQ(calls, 1, "faults");
	TST_CHECK(a == 1 && b == 1, "instructions around the fault ran once");
	TST_EXP_EQ(v, 9, "the load completed after the handler");
	/* rep movsb from a readable buffer into page+1 (writable) and page+2 (read-only). */
	char *dst = page + 4096 + 4000;
	SAFE(mprotect(page + 8192, 4096, PROT_READ));
	static char src[200];
	for (int i = 0; i < 200; i++)
		src[i] = (char)(i + 1);
	void *d = dst, *s = src;
	unsigned long n = 200;
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	TST_EXP_EQ(calls, 2, "faults after the copy");
	TST_CHECK(memcmp(dst, src, 200) == 0 && n == 0, "rep movsb resumed and completed once");
	return tst_exit();
}
