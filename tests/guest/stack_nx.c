/* Code on a non-executable stack never runs: a jump into each page of a
 * 256 KiB stack buffer full of int3 (from the top down, across the part
 * of the stack tern mapped and the part the kernel grew below it) faults
 * with SIGSEGV every time, and the stack stays writable. tern
 * write-protected each page it was asked to translate, as it does code
 * pages, which split the stack's mapping; the grown part then went
 * unrecognised and its int3 ran (the kernel selftest nx_stack). Compared
 * with the native run. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static sigjmp_buf back;
static volatile int last_sig;

static void on_sig(int sig) {
    last_sig = sig;
    siglongjmp(back, 1);
}

/* How many /proc/self/maps lines the stack takes, and whether each is
 * writable: one writable line, natively. */
static void stack_lines(const char *when) {
    static char buf[1 << 16];
    int fd = open("/proc/self/maps", O_RDONLY);
    int n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    unsigned long here = (unsigned long)&n;
    int lines = 0, writable = 0;
    for (char *l = buf; *l; l = strchr(l, '\n') + 1) {
        unsigned long lo, hi;
        char perms[5];
        if (sscanf(l, "%lx-%lx %4s", &lo, &hi, perms) == 3 && hi > here - (1 << 20) && lo <= here + (1 << 20) &&
            strstr(l, "[stack]"))
            lines++, writable += perms[1] == 'w';
        if (!strchr(l, '\n'))
            break;
    }
    printf("%s: the [stack] line writable: %d\n", when, lines == 1 && writable == 1);
}

static int run(void) {
    volatile unsigned char code[256 * 1024];
    memset((void *)code, 0xcc, sizeof code);
    int segv = 0, trap = 0;
    for (long off = sizeof code - 4096; off >= 0; off -= 4096) {
        if (sigsetjmp(back, 1) == 0)
            ((void (*)(void))(code + off))();
        segv += last_sig == SIGSEGV;
        trap += last_sig == SIGTRAP;
    }
    printf("64 stack pages: %d SIGSEGV, %d SIGTRAP\n", segv, trap);
    return code[0];
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    stack_t ss = {.ss_sp = malloc(1 << 16), .ss_size = 1 << 16};
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sig;
    sa.sa_flags = SA_ONSTACK | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGTRAP, &sa, NULL);
    run();
    stack_lines("after");
    return 0;
}
