/* rt_sigreturn to a frame whose stack segment 64-bit user code cannot run
 * with: with UC_STRICT_RESTORE_SS (which the kernel's frames for 64-bit
 * code carry) the return faults, #GP with the selector's error code
 * (__USER_CS as SS: 0x30; an LDT selector without an LDT: 0), SIGSEGV at
 * the state restored; without the flag the kernel uses __USER_DS and the
 * program goes on. tern ignored the frame's SS (the kernel selftest
 * sigreturn then died of the handler's int3). Compared with the native
 * run. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#define UC_STRICT_RESTORE_SS 4

static sigjmp_buf back;
static volatile unsigned short new_ss;
static volatile int strict;
static volatile int segv, trapno, err, code, same_rip;
static volatile uint64_t at;

static void on_usr1(int sig, siginfo_t *si, void *ctx) {
    ucontext_t *uc = ctx;
    uint64_t *csgsfs = (uint64_t *)&uc->uc_mcontext.gregs[REG_CSGSFS];
    *csgsfs = (*csgsfs & 0x0000ffffffffffffULL) | (uint64_t)new_ss << 48;
    if (!strict)
        uc->uc_flags &= ~UC_STRICT_RESTORE_SS;
    at = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
    (void)sig, (void)si;
}

static void on_segv(int sig, siginfo_t *si, void *ctx) {
    ucontext_t *uc = ctx;
    segv = 1;
    code = si->si_code;
    trapno = (int)uc->uc_mcontext.gregs[REG_TRAPNO];
    err = (int)uc->uc_mcontext.gregs[REG_ERR];
    same_rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP] == at;
    (void)sig;
    siglongjmp(back, 1);
}

static void try_ss(unsigned short ss, int with_strict) {
    new_ss = ss;
    strict = with_strict;
    segv = 0;
    if (sigsetjmp(back, 1) == 0)
        raise(SIGUSR1);
    printf("SS %#x%s: ", ss, with_strict ? "" : " without UC_STRICT_RESTORE_SS");
    if (segv)
        printf("SIGSEGV code %d trapno %d err %#x, at the restored rip %d\n", code, trapno, err, same_rip);
    else
        printf("returned\n");
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_flags = SA_SIGINFO;
    sa.sa_sigaction = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    try_ss(0x2b, 1);
    try_ss(0x33, 1);
    try_ss(0x47, 1);
    try_ss(0x0, 1);
    try_ss(0x33, 0);
    try_ss(0x47, 0);
    return 0;
}
