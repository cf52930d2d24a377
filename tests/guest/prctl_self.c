/* prctl options that answer with the calling process's or thread's own
 * state: PR_GET_TID_ADDRESS (the clear_child_tid of set_tid_address and
 * CLONE_CHILD_CLEARTID) and PR_GET_AUXV. A thread that reads its tid
 * address, clears it and sets it back, as stress-ng's pthread stressor
 * does, must still be joinable: under tern it read the host thread's
 * address (glibc's, in tern's memory) and pthread_join never returned.
 * Compared with the native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PR_GET_AUXV
#define PR_GET_AUXV 0x41555856
#endif

static void *thread(void *arg) {
    unsigned long addr = 0;
    if (prctl(PR_GET_TID_ADDRESS, &addr, 0, 0, 0) != 0)
        return (void *)1;
    /* glibc's tid address is the thread's `tid` field, inside the
     * thread's descriptor, which pthread_self points to. */
    long off = (long)(addr - (unsigned long)pthread_self());
    *(long *)arg = off >= 0 && off < 4096;
    syscall(SYS_set_tid_address, NULL);
    unsigned long none = 1;
    prctl(PR_GET_TID_ADDRESS, &none, 0, 0, 0);
    long tid = syscall(SYS_set_tid_address, addr);
    unsigned long back = 0;
    prctl(PR_GET_TID_ADDRESS, &back, 0, 0, 0);
    return (void *)(long)(none == 0 && back == addr && tid == syscall(SYS_gettid) ? 2 : 3);
}

int main(void) {
    alarm(20); /* a join that never returns ends the test */
    for (int i = 0; i < 50; i++) {
        pthread_t t;
        long inside = -1;
        void *r;
        pthread_create(&t, NULL, thread, &inside);
        pthread_join(t, &r);
        if (i == 0 || r != (void *)2 || inside != 1)
            printf("thread %d: result %ld, tid address in its descriptor %ld\n", i, (long)r, inside);
    }
    printf("joined 50 threads\n");
    errno = 0;
    long r = prctl(PR_GET_TID_ADDRESS, (void *)8, 0, 0, 0);
    printf("bad pointer: %ld %s\n", r, strerror(errno));

    unsigned long auxv[128];
    memset(auxv, 0xff, sizeof auxv);
    long size = prctl(PR_GET_AUXV, auxv, sizeof auxv, 0, 0);
    if (size < 0) {
        printf("PR_GET_AUXV: %s\n", strerror(errno));
        return 0;
    }
    /* The entries are the process's own (AT_HWCAP is glibc's own in
     * getauxval; tern, which refuses rseq, leaves out AT_RSEQ_*). */
    int n = 0, agree = 1, end = 0;
    for (unsigned long *p = auxv; p < auxv + size / 8 && p[0] != AT_NULL; p += 2, n++)
        if (p[0] != AT_HWCAP)
            agree &= getauxval(p[0]) == p[1];
    for (unsigned long *p = auxv + 2 * n; p < auxv + size / 8; p++)
        end |= *p != 0;
    printf("PR_GET_AUXV: size %ld, entries agree with getauxval %d, zero after the end %d, beyond %s\n", size,
           agree, !end, auxv[size / 8] == ~0ul ? "untouched" : "written");
    long only = prctl(PR_GET_AUXV, NULL, 0, 0, 0);
    errno = 0;
    long bad = prctl(PR_GET_AUXV, NULL, 0, 1, 0);
    printf("PR_GET_AUXV size only: %ld; with arg4: %ld %s\n", only, bad, strerror(errno));
    return 0;
}
