/* Handler entry: the stack is aligned as after a call ((rsp + 8) % 16 == 0),
 * rdi/rsi/rdx hold sig, info and ucontext, and the direction flag is clear
 * even when it was set at the interrupted instruction. */
// tst: static
#include "tst.h"

static volatile unsigned long entry_rsp, entry_rdi, entry_rsi, entry_rdx, entry_rflags;
static volatile int seen_sig;
static volatile siginfo_t *seen_info;
static volatile void *seen_uc;

void rec(int sig, siginfo_t *info, void *uc)
{
	seen_sig = sig;
	seen_info = info;
	seen_uc = uc;
}

/* The real handler, in asm, records its registers before anything runs. */
extern void entry(int, siginfo_t *, void *);
__asm__(".text\n.globl entry\nentry:\n"
	"mov %rsp, entry_rsp(%rip)\n"
	"mov %rdi, entry_rdi(%rip)\n"
	"mov %rsi, entry_rsi(%rip)\n"
	"mov %rdx, entry_rdx(%rip)\n"
	"pushfq\npop %rax\nmov %rax, entry_rflags(%rip)\n"
	"sub $8, %rsp\ncall rec\nadd $8, %rsp\nret\n");

int main(void)
{
	tst_sigaction(SIGUSR1, entry, 0);
	/* std before the signal: tgkill from asm with DF set. */
	long r;
	__asm__ volatile("std\nsyscall\ncld" : "=a"(r)
			 : "0"((long)SYS_tgkill), "D"((long)getpid()), "S"((long)tst_gettid()), "d"((long)SIGUSR1)
			 : "rcx", "r11", "memory");
	TST_EXP_EQ(r, 0, "tgkill");
	TST_EXP_EQ(seen_sig, SIGUSR1, "handler ran with sig");
	TST_EXP_EQ((entry_rsp + 8) % 16, 0, "(rsp + 8) % 16 at entry");
	TST_CHECK(entry_rdi == SIGUSR1, "rdi is the signal");
	TST_CHECK(entry_rsi == (unsigned long)seen_info && entry_rdx == (unsigned long)seen_uc, "rsi/rdx are info/uc");
	TST_CHECK(entry_rsi > entry_rsp && entry_rdx > entry_rsp, "siginfo and ucontext lie above the stack pointer");
	TST_EXP_EQ(entry_rflags & 0x400, 0, "DF at entry");
	return tst_exit();
}
