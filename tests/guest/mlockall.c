/* mlockall: MCL_CURRENT makes the program's mappings resident (mincore),
 * MCL_FUTURE its later mmaps and brk growth, MCL_ONFAULT only what it
 * touches; bad flags are EINVAL; munlockall ends it. Each case runs in a
 * child, whose peak resident set (RUSAGE_CHILDREN) must stay near what it
 * locked: tern's own reservations (GiB of address space) must not become
 * resident with it. Compared with the native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define MB (1024 * 1024)

/* Resident pages of [p, p + len) out of all, as "r/n". */
static void resident(const char *what, void *p, size_t len) {
    size_t n = len / 4096, r = 0;
    unsigned char *v = malloc(n);
    if (mincore(p, len, v) != 0) {
        printf("  %s: mincore %s\n", what, strerror(errno));
    } else {
        for (size_t i = 0; i < n; i++)
            r += v[i] & 1;
        printf("  %s: %s\n", what, r == n ? "all resident" : r == 0 ? "none resident" : "partly resident");
    }
    free(v);
}

static void child(int flags) {
    char *before = mmap(NULL, 16 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mlockall(%#x): %s\n", flags, mlockall(flags) == 0 ? "ok" : strerror(errno));
    resident("mapped before", before, 16 * MB);
    char *after = mmap(NULL, 16 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    resident("mapped after", after, 16 * MB);
    after[0] = 1;
    resident("first page touched", after, 4096);
    char *grown = sbrk(0);
    if (sbrk(4 * MB) != (void *)-1)
        resident("brk growth", grown, 4 * MB);
    munlockall();
    char *unlocked = mmap(NULL, 4 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    resident("mapped after munlockall", unlocked, 4 * MB);
    fflush(stdout);
    _exit(0);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("mlockall(0): %s\n", mlockall(0) == 0 ? "ok" : strerror(errno));
    printf("mlockall(MCL_ONFAULT): %s\n", mlockall(MCL_ONFAULT) == 0 ? "ok" : strerror(errno));
    printf("mlockall(0x80): %s\n", mlockall(0x80) == 0 ? "ok" : strerror(errno));
    int cases[] = {MCL_CURRENT, MCL_CURRENT | MCL_FUTURE, MCL_FUTURE, MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT};
    for (unsigned i = 0; i < sizeof cases / sizeof *cases; i++) {
        pid_t pid = fork();
        if (pid == 0)
            child(cases[i]);
        int st;
        waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            printf("  child ended with status %#x\n", st);
    }
    /* The largest child locked at most 16 + 16 + 4 MiB of its own. */
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    printf("children's peak resident set under 512 MiB: %d\n", ru.ru_maxrss < 512 * 1024);
    return 0;
}
