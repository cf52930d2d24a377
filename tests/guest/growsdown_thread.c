/* A thread runs on a MAP_GROWSDOWN stack the program placed at the top of
 * a hole it keeps free (256 pages of guard gap plus the stack's room) and
 * grows it down into the hole, as in LTP's mmap18. tern's host stack for
 * the new thread used to be mapped by glibc wherever the kernel put it,
 * often inside that hole, and the guest stack could not grow (SIGSEGV).
 * The same with a page mapped at the stack's bottom dies of SIGSEGV, as
 * natively. Compared with the native run. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static __attribute__((noinline)) void *down(void *limit) {
    volatile char pad[256];
    pad[0] = 1;
    if ((char *)&limit < (char *)limit)
        return NULL;
    void *r = down(limit);
    /* No tail call: every level keeps its frame. */
    return pad[0] == 1 ? r : NULL;
}

static void child(size_t stack_size, size_t mapped, int block_bottom) {
    long page = getpagesize();
    size_t reserved = 256 * page + stack_size;
    char *start = mmap(NULL, reserved, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (start == MAP_FAILED || munmap(start, reserved))
        _exit(10);
    if (mmap(start + reserved - mapped, mapped, PROT_READ | PROT_WRITE,
             MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0) == MAP_FAILED)
        _exit(11);
    char *bottom = start + reserved - stack_size;
    if (block_bottom &&
        mmap(bottom, page, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
        _exit(12);
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setstack(&attr, bottom, stack_size);
    if (pthread_create(&t, &attr, down, bottom + page))
        _exit(13);
    pthread_join(t, NULL);
    _exit(0);
}

int main(void) {
    size_t pthread_stack = (PTHREAD_STACK_MIN + 4095) & ~4095ul;
    size_t stack_size = 8 * pthread_stack;
    for (int round = 0; round < 4; round++) {
        for (int block = 0; block < 2; block++) {
            size_t mapped = block ? pthread_stack : 2 * getpagesize();
            pid_t c = fork();
            if (c == 0)
                child(stack_size, mapped, block);
            int st;
            waitpid(c, &st, 0);
            if (WIFSIGNALED(st))
                printf("round %d, bottom %s: killed by signal %d\n", round, block ? "mapped" : "free", WTERMSIG(st));
            else
                printf("round %d, bottom %s: exit %d\n", round, block ? "mapped" : "free", WEXITSTATUS(st));
        }
    }
    return 0;
}
