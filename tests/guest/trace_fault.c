/* A fault inside a hot loop (a trace once the loop is hot): the handler
 * must see the guest state of the faulting instruction, as natively. The
 * loop copies and sums an array whose end runs into a PROT_NONE page; a
 * floating-point loop does the same, and its handler reads MXCSR's
 * exception flags (raised by every division before the fault). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

static sigjmp_buf env;
static volatile unsigned long seen_addr, seen_rip;
static volatile long seen_regs[4];

__attribute__((noinline)) static long copy_sum(long *dst, const long *src, long n) {
    long s = 0;
    for (long i = 0; i < n; i++) {
        dst[i] = src[i] * 3 + s;
        s += src[i] ^ i;
    }
    return s;
}

__attribute__((noinline)) static double fp_scale(double *dst, const double *src, long n, double d) {
    double s = 0;
    for (long i = 0; i < n; i++) {
        dst[i] = src[i] / d;
        s += dst[i];
    }
    return s;
}

static volatile unsigned seen_mxcsr;

static void on_segv(int sig, siginfo_t *si, void *uc_) {
    ucontext_t *uc = uc_;
    (void)sig;
    seen_addr = (unsigned long)si->si_addr;
    seen_rip = uc->uc_mcontext.gregs[REG_RIP];
    seen_regs[0] = uc->uc_mcontext.gregs[REG_RAX];
    seen_regs[1] = uc->uc_mcontext.gregs[REG_RCX];
    seen_regs[2] = uc->uc_mcontext.gregs[REG_RDX];
    seen_regs[3] = uc->uc_mcontext.gregs[REG_R8];
    seen_mxcsr = uc->uc_mcontext.fpregs->mxcsr;
    siglongjmp(env, 1);
}

int main(void) {
    long page = sysconf(_SC_PAGESIZE);
    char *m = mmap(0, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    long *src = (long *)m, *dst = (long *)(m + 2 * page);
    mprotect(m + page, page, PROT_NONE);     /* src runs into it */
    mprotect(m + 3 * page, page, PROT_NONE); /* dst runs into it */
    for (long i = 0; i < page / 8; i++) src[i] = i * 7 + 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, 0);
    long total = 0;
    for (int round = 0; round < 200; round++) /* hot */
        total += copy_sum(dst, src, page / 8 - round % 7);
    printf("total %ld\n", total);
    for (int k = 0; k < 3; k++) {
        long n = page / 8 + 5 + k;
        memset(dst, 0, page);
        if (sigsetjmp(env, 1) == 0) {
            copy_sum(dst, src, n);
            printf("no fault\n");
        } else {
            long done = 0;
            for (long i = 0; i < page / 8; i++) done += dst[i] != 0;
            printf("fault at page+%ld, rip fn+%ld, stores done %ld, regs", (long)(seen_addr - (unsigned long)m) % page,
                   (long)(seen_rip - (unsigned long)copy_sum), done);
            for (int r = 0; r < 4; r++) {
                unsigned long v = (unsigned long)seen_regs[r], base = (unsigned long)m;
                /* Addresses differ from run to run (ASLR): as offsets. */
                if (v - base < 4 * (unsigned long)page)
                    printf(" m+%lx", v - base);
                else if (v > 0x100000000UL)
                    printf(" addr");
                else
                    printf(" %lx", v);
            }
            printf("\n");
        }
    }
    /* Division by 3 is inexact (PE), by 0 divides by zero (ZE): the flags
     * the handler sees are those of every division done before the fault. */
    double *fsrc = (double *)m, *fdst = (double *)(m + 2 * page);
    for (long i = 0; i < page / 8; i++) fsrc[i] = (double)(i + 1);
    double ftotal = 0;
    for (int round = 0; round < 200; round++) /* hot */
        ftotal += fp_scale(fdst, fsrc, page / 8 - round % 5, 4.0);
    printf("fp total %.17g\n", ftotal);
    const double divisors[] = {4.0, 3.0, 0.0};
    for (int k = 0; k < 3; k++) {
        __asm__ volatile("ldmxcsr %0" : : "m"((unsigned){0x1f80}));
        if (sigsetjmp(env, 1) == 0) {
            fp_scale(fdst, fsrc, page / 8 + 3, divisors[k]);
            printf("no fault\n");
        } else {
            printf("fp fault at page+%ld, rip fn+%ld, mxcsr flags %x\n",
                   (long)(seen_addr - (unsigned long)m) % page, (long)(seen_rip - (unsigned long)fp_scale),
                   seen_mxcsr & 0x3f);
        }
    }
    return 0;
}
