/* RLIMIT_AS and RLIMIT_DATA are the guest's: set, read back, enforced by
 * mmap, mremap, brk and malloc as the kernel enforces them, checked by
 * setrlimit/prlimit as the kernel checks them, and inherited across fork
 * and exec. Under tern they are kept by tern (its own memory, gigabytes of
 * address space, does not count); a limit passed to the host starved tern
 * and made it abort. Compared with the native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define MiB (1ul << 20)

static void show(const char *what, int resource) {
    struct rlimit r;
    if (getrlimit(resource, &r) != 0) {
        perror("getrlimit");
        exit(1);
    }
    printf("%s: soft %lu MiB, hard %s\n", what, (unsigned long)(r.rlim_cur / MiB),
           r.rlim_max == RLIM_INFINITY ? "unlimited" : "finite");
}

static void try_map(const char *what, size_t len, int prot, int flags) {
    void *p = mmap(NULL, len, prot, flags, -1, 0);
    printf("%s %lu MiB: %s\n", what, (unsigned long)(len / MiB), p == MAP_FAILED ? strerror(errno) : "ok");
    if (p != MAP_FAILED)
        munmap(p, len);
}

static int set(int resource, rlim_t soft, rlim_t hard) {
    struct rlimit r = {soft, hard};
    errno = 0;
    int rc = setrlimit(resource, &r);
    return rc == 0 ? 0 : errno;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1) {
        /* The exec'd child: the limits its parent set. */
        show("exec'd AS", RLIMIT_AS);
        show("exec'd DATA", RLIMIT_DATA);
        try_map("exec'd mmap", 400 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
        return 0;
    }
    struct rlimit start;
    getrlimit(RLIMIT_AS, &start);
    printf("started unlimited: %d\n", start.rlim_cur == RLIM_INFINITY);

    /* Address space: 256 MiB. */
    printf("set AS: %d\n", set(RLIMIT_AS, 256 * MiB, RLIM_INFINITY));
    show("AS", RLIMIT_AS);
    int anon = MAP_PRIVATE | MAP_ANONYMOUS, rw = PROT_READ | PROT_WRITE;
    try_map("mmap", 512 * MiB, rw, anon);
    try_map("mmap", 64 * MiB, rw, anon);
    try_map("mmap read-only", 512 * MiB, PROT_READ, anon);
    printf("malloc 400 MiB: %s\n", malloc(400 * MiB) ? "ok" : "null");
    errno = 0;
    void *b = sbrk(400 * MiB);
    printf("sbrk 400 MiB: %s\n", b == (void *)-1 ? strerror(errno) : "ok");

    /* 200 MiB mapped: growing it by 100 fails, MAP_FIXED over it adds
     * nothing and succeeds, shrinking succeeds. */
    char *p = mmap(NULL, 200 * MiB, rw, anon, -1, 0);
    printf("mmap 200 MiB: %s\n", p == MAP_FAILED ? strerror(errno) : "ok");
    errno = 0;
    void *q = mremap(p, 200 * MiB, 300 * MiB, MREMAP_MAYMOVE);
    printf("mremap to 300 MiB: %s\n", q == MAP_FAILED ? strerror(errno) : "ok");
    q = mmap(p, 64 * MiB, rw, anon | MAP_FIXED, -1, 0);
    printf("MAP_FIXED over 64 MiB of it: %s\n", q == MAP_FAILED ? strerror(errno) : "ok");
    try_map("mmap beside it", 100 * MiB, rw, anon);
    q = mremap(p, 200 * MiB, 100 * MiB, 0);
    printf("mremap to 100 MiB: %s\n", q == MAP_FAILED ? strerror(errno) : "ok");
    try_map("then mmap", 100 * MiB, rw, anon);
    munmap(p, 100 * MiB);

    /* The kernel's checks: soft above hard, raising the hard limit. */
    printf("soft above hard: %s\n", strerror(set(RLIMIT_AS, 300 * MiB, 200 * MiB)));
    printf("lower hard: %d\n", set(RLIMIT_AS, 256 * MiB, 512 * MiB));
    int raise = set(RLIMIT_AS, 256 * MiB, 1024 * MiB);
    printf("raise hard: %s\n", raise == 0 ? "ok" : strerror(raise));
    struct rlimit n = {300 * MiB, 512 * MiB}, old;
    errno = 0;
    int rc = prlimit(getpid(), RLIMIT_AS, &n, &old);
    printf("prlimit: %d %d, old soft %lu MiB\n", rc, rc ? errno : 0, (unsigned long)(old.rlim_cur / MiB));
    show("AS", RLIMIT_AS);
    errno = 0;
    rc = getrlimit(RLIMIT_AS, (struct rlimit *)8);
    printf("getrlimit bad pointer: %d %s\n", rc, strerror(errno));

    /* Data: private writable mappings only. */
    printf("set DATA: %d\n", set(RLIMIT_DATA, 128 * MiB, RLIM_INFINITY));
    show("DATA", RLIMIT_DATA);
    FILE *f = fopen("/proc/self/limits", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "Max address space", 17) || !strncmp(line, "Max data size", 13))
            fputs(line, stdout);
    if (f)
        fclose(f);
    try_map("private writable", 200 * MiB, rw, anon);
    try_map("private read-only", 200 * MiB, PROT_READ, anon);
    try_map("shared writable", 200 * MiB, rw, MAP_SHARED | MAP_ANONYMOUS);
    printf("malloc 200 MiB: %s\n", malloc(200 * MiB) ? "ok" : "null");
    printf("malloc 1 MiB: %s\n", malloc(MiB) ? "ok" : "null");

    /* Inherited: a forked child, and a program it execs. */
    pid_t c = fork();
    if (c == 0) {
        show("forked AS", RLIMIT_AS);
        try_map("forked mmap", 400 * MiB, rw, anon);
        execl("/proc/self/exe", argv[0], "child", (char *)NULL);
        perror("execl");
        _exit(127);
    }
    int st;
    waitpid(c, &st, 0);
    printf("child exit %d\n", WEXITSTATUS(st));

    /* A vfork child's limits are its own, on its parent's memory. */
    c = vfork();
    if (c == 0) {
        struct rlimit r = {280 * MiB, 512 * MiB};
        setrlimit(RLIMIT_AS, &r);
        execl("/proc/self/exe", argv[0], "child", (char *)NULL);
        _exit(127);
    }
    waitpid(c, &st, 0);
    printf("vfork child exit %d\n", WEXITSTATUS(st));
    show("parent AS after the vfork child's", RLIMIT_AS);
    return 0;
}
