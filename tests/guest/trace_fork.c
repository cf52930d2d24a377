/* Hot loops before and after fork: traces formed in the parent keep
 * working in the child, and the child forms traces of its own. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) static unsigned long mix(unsigned long n, unsigned long seed) {
    unsigned long x = seed;
    for (unsigned long i = 0; i < n; i++) x = x * 6364136223846793005UL + (i ^ (x >> 29));
    return x;
}

__attribute__((noinline)) static unsigned long tri(unsigned long n) {
    unsigned long s = 0;
    for (unsigned long i = 0; i < n; i++) s += i * (i & 7);
    return s;
}

int main(void) {
    printf("parent %lx\n", mix(200000, 1));
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        printf("child %lx %lx\n", mix(200000, 2), tri(300000));
        return 3;
    }
    int st;
    waitpid(p, &st, 0);
    if (WIFSIGNALED(st)) printf("child killed by signal %d\n", WTERMSIG(st));
    printf("child exit %d, parent again %lx %lx\n", WEXITSTATUS(st), mix(100000, 3), tri(1000));
    return 0;
}
