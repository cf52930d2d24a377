/* The legacy vsyscall page: gettimeofday at 0xffffffffff600000, time at
 * +0x400, getcpu at +0x800, which old static binaries call directly. The
 * kernel (vsyscall=xonly, the default) maps it execute-only and emulates a
 * call at one of those entries when the instruction fetch faults; tern
 * cannot read the page, so crashed (the kernel selftests test_vsyscall and
 * test_vdso). Also what the kernel refuses: another address in the page,
 * an output pointer past user space (SEGV_MAPERR at it, before the call),
 * one the call cannot write (SIGSEGV, SI_KERNEL), a read of the page.
 * Compared with the native run (a host booted with vsyscall=none faults
 * on every call; so does tern there). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define PAGE 0xffffffffff600000UL

static sigjmp_buf back;
static volatile int code;
static volatile uint64_t addr, rip, trapno, err;

static void on_segv(int sig, siginfo_t *si, void *ctx) {
    ucontext_t *uc = ctx;
    code = si->si_code;
    addr = (uint64_t)si->si_addr;
    rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
    trapno = (uint64_t)uc->uc_mcontext.gregs[REG_TRAPNO];
    err = (uint64_t)uc->uc_mcontext.gregs[REG_ERR];
    (void)sig;
    siglongjmp(back, 1);
}

typedef long (*call3)(void *, void *, void *);

/* Calls the entry at `off` with the arguments; prints the result or the
 * signal (its code, address and rip as offsets into the page). */
static long try_call(const char *what, uint64_t off, void *a, void *b) {
    call3 f = (call3)(PAGE + off);
    long r = 0;
    if (sigsetjmp(back, 1) == 0) {
        r = f(a, b, (void *)0x1234);
        printf("%s: returned %s\n", what, r < 0 ? "an error" : "0 or more");
        return r;
    }
    printf("%s: SIGSEGV code %d addr %s rip %s trapno %lu err %#lx\n", what, code,
           addr == 0 ? "0" : addr >= PAGE ? "in the page" : addr == 0x8 ? "8" : "other",
           rip >= PAGE && rip < PAGE + 4096 ? "at the call" : "elsewhere", (unsigned long)trapno,
           (unsigned long)err);
    return -1;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);

    struct timeval tv = {0, 0};
    struct timezone tz = {1, 1};
    time_t before = time(NULL);
    if (try_call("gettimeofday", 0, &tv, &tz) == 0)
        printf("  the time is now's: %d\n", tv.tv_sec >= before && tv.tv_sec <= before + 5);
    try_call("gettimeofday without arguments", 0, NULL, NULL);
    time_t t = 0;
    long r = try_call("time", 0x400, &t, NULL);
    printf("  returned and stored the same, now: %d\n", r == t && t >= before && t <= before + 5);
    r = try_call("time without a pointer", 0x400, NULL, NULL);
    printf("  now: %d\n", r >= before && r <= before + 5);
    unsigned cpu = 999, node = 999;
    if (try_call("getcpu", 0x800, &cpu, &node) == 0)
        printf("  cpu below the count %d, node %u\n", cpu < (unsigned)sysconf(_SC_NPROCESSORS_CONF), node);
    try_call("misaligned entry", 0x10, &tv, NULL);
    try_call("pointer past user space", 0, (void *)0xffff800000000000UL, NULL);
    try_call("unwritable pointer", 0, (void *)8, NULL);
    if (sigsetjmp(back, 1) == 0) {
        volatile uint8_t *p = (uint8_t *)PAGE;
        printf("read: %u\n", *p);
    } else {
        printf("read: SIGSEGV code %d addr %s\n", code, addr == PAGE ? "the page" : "other");
    }
    return 0;
}
