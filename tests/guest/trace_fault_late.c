/* Faults in hot loops that stored (traces once hot) in a process that had
 * no handler for them when the loops got hot: tern's traces then keep no
 * precise state at every access, and must get it back once a handler is
 * installed. First a loop runs hot with no handler, then a SIGSEGV handler
 * is installed, the same loop runs hot again for 300 ms (tern forms its
 * trace again, precise), then runs into a PROT_NONE page: the handler
 * must see the stores done up to the fault and the faulting instruction,
 * as natively. With an argument, no handler is ever installed: the loop's
 * fault ends the process with SIGSEGV after its output, as natively. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

static sigjmp_buf env;
static volatile unsigned long seen_addr, seen_rip;

__attribute__((noinline)) static long scale_into(long *dst, const long *src, long n) {
    long s = 0;
    for (long i = 0; i < n; i++) {
        dst[i] = src[i] * 5 + s;
        s += src[i] ^ (i << 1);
    }
    return s;
}

static void on_segv(int sig, siginfo_t *si, void *uc_) {
    ucontext_t *uc = uc_;
    (void)sig;
    seen_addr = (unsigned long)si->si_addr;
    seen_rip = uc->uc_mcontext.gregs[REG_RIP];
    siglongjmp(env, 1);
}

int main(int argc, char **argv) {
    (void)argv;
    long page = sysconf(_SC_PAGESIZE);
    char *m = mmap(0, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    long *src = (long *)m, *dst = (long *)(m + page);
    mprotect(m + 2 * page, page, PROT_NONE); /* dst runs into it */
    for (long i = 0; i < page / 8; i++)
        src[i] = i * 3 + 2;
    long total = 0;
    for (int round = 0; round < 3000; round++) /* hot, no handler yet */
        total += scale_into(dst, src, page / 8 - round % 5);
    printf("total %ld\n", total);
    fflush(stdout);
    if (argc > 1) {
        scale_into(dst, src, page / 8 + 9); /* dies here */
        printf("no fault\n");
        return 0;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, 0);
    /* Hot again, with the handler: tern forms the loop's trace again,
     * precise this time (`--stats`: "traces: formed again"). */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        for (int round = 0; round < 200; round++)
            total += scale_into(dst, src, page / 8 - round % 5);
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while ((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) < 300000000L);
    for (int k = 0; k < 3; k++) {
        memset(dst, 0, page);
        if (sigsetjmp(env, 1) == 0) {
            scale_into(dst, src, page / 8 + 3 + k);
            printf("no fault\n");
        } else {
            long done = 0;
            for (long i = 0; i < page / 8; i++)
                done += dst[i] != 0;
            printf("fault at page+%ld, rip fn+%ld, stores done %ld\n", (long)(seen_addr - (unsigned long)m) % page,
                   (long)(seen_rip - (unsigned long)scale_into), done);
        }
    }
    return 0;
}
