/* What /proc shows of a process's memory layout and strings, read by the
 * process itself and by another one: /proc/PID/stat's code, data and stack
 * addresses, /proc/PID/cmdline after the program rewrote its arguments in
 * place (setproctitle, as postgres and sshd do), /proc/PID/environ and
 * /proc/PID/auxv. Under tern all of these were tern's own (its binary, its
 * stack, its arguments). Also prctl(PR_SET_MM, PR_SET_MM_BRK), which needs
 * CAP_SYS_RESOURCE (EPERM without) and under tern must move the guest's
 * break, not tern's. Every line is compared with the native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
extern char __executable_start, etext, edata;

static int read_file(const char *path, char *buf, int size) {
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int n = (int)fread(buf, 1, size, f);
    fclose(f);
    return n;
}

/* Field n (1-based, as in proc(5)) of /proc/PID/stat. */
static unsigned long stat_field(pid_t pid, int n) {
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int len = read_file(path, buf, sizeof buf - 1);
    if (len <= 0)
        return 0;
    buf[len] = 0;
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    p += 2;
    for (int i = 3; i < n && p; i++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    return p ? strtoul(p, NULL, 10) : 0;
}

/* The bytes from the first string to the end of the last of `v`. */
static int strings_span(char **v, char **start, char **end) {
    int n = 0;
    while (v[n])
        n++;
    if (n == 0)
        return 0;
    *start = v[0];
    *end = v[n - 1] + strlen(v[n - 1]) + 1;
    return n;
}

/* What another process reads of `pid` (the parent, from a child). */
static void seen_by_another(pid_t pid, char **argv) {
    char path[64], buf[65536];
    char *start, *end;
    strings_span(argv, &start, &end);
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    int n = read_file(path, buf, sizeof buf);
    printf("cmdline of the parent: %d bytes, the parent's arguments: %d: ", n,
           n >= end - start && !memcmp(buf, start, (size_t)(end - start)));
    for (int i = 0; i < n; i++)
        putchar(buf[i] ? buf[i] : '|');
    putchar('\n');
    /* The strings, wherever they are now: with GLIBC_TUNABLES set, glibc
     * points its entry at a copy. */
    static char env[65536];
    int len = 0;
    for (char **e = environ; *e && len + (int)strlen(*e) + 1 <= (int)sizeof env; e++) {
        memcpy(env + len, *e, strlen(*e) + 1);
        len += (int)strlen(*e) + 1;
    }
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    n = read_file(path, buf, sizeof buf);
    printf("environ of the parent: its environment %d\n", n == len && !memcmp(buf, env, (size_t)n));
    snprintf(path, sizeof path, "/proc/%d/auxv", (int)pid);
    n = read_file(path, buf, sizeof buf);
    int entry = 0, phdr = 0;
    for (int i = 0; i + 16 <= n; i += 16) {
        unsigned long k, v;
        memcpy(&k, buf + i, 8);
        memcpy(&v, buf + i + 8, 8);
        entry |= k == AT_ENTRY && v == getauxval(AT_ENTRY);
        phdr |= k == AT_PHDR && v == getauxval(AT_PHDR);
    }
    printf("auxv of the parent: its AT_ENTRY %d, AT_PHDR %d\n", entry, phdr);
    unsigned long stack = stat_field(pid, 28);
    printf("stat of the parent: start of its stack %d\n", stack == (unsigned long)(argv - 1));
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t self = getpid();
    unsigned long code0 = stat_field(self, 26), code1 = stat_field(self, 27);
    unsigned long data0 = stat_field(self, 45), data1 = stat_field(self, 46);
    printf("start_code - __executable_start %ld\n", (long)(code0 - (unsigned long)&__executable_start));
    printf("end_code - etext %ld\n", (long)(code1 - (unsigned long)&etext));
    printf("start_data - __executable_start %ld\n", (long)(data0 - (unsigned long)&__executable_start));
    printf("end_data - edata %ld\n", (long)(data1 - (unsigned long)&edata));
    printf("start_stack is argv - 8: %d\n", stat_field(self, 28) == (unsigned long)(argv - 1));
    char *start, *end;
    strings_span(argv, &start, &end);
    printf("arg_start, arg_end: %d %d\n", stat_field(self, 48) == (unsigned long)start,
           stat_field(self, 49) == (unsigned long)end);
    /* The environment's strings follow the arguments' (glibc may have
     * pointed an entry of environ elsewhere: GLIBC_TUNABLES). */
    unsigned long env_start = stat_field(self, 50), env_end = stat_field(self, 51);
    printf("env_start is arg_end: %d, env_end after it: %d\n", env_start == (unsigned long)end,
           env_end > env_start);

    /* setproctitle: the arguments rewritten in place, same lengths. */
    for (int i = 0; i < argc; i++)
        for (char *c = argv[i]; *c; c++)
            *c = (char)('a' + (c - argv[i]) % 26);
    for (int round = 0; round < 2; round++) {
        pid_t c = fork();
        if (c == 0) {
            seen_by_another(getppid(), argv);
            _exit(0);
        }
        waitpid(c, NULL, 0);
        /* A title shorter than the arguments: NULs after it (the
         * kernel still shows the whole area: its last byte is a NUL). */
        if (argc > 0 && strlen(argv[0]) > 2)
            argv[0][2] = 0;
    }

    /* PR_SET_MM_BRK: EPERM without CAP_SYS_RESOURCE; with it, the break
     * brk(0) reports moves, and can be moved back. */
    long cur = syscall(SYS_brk, 0);
    errno = 0;
    int r = prctl(PR_SET_MM, PR_SET_MM_BRK, cur + 8192, 0, 0);
    printf("PR_SET_MM_BRK: %d %s, break moved by %ld\n", r, strerror(errno), syscall(SYS_brk, 0) - cur);
    if (r == 0) {
        r = prctl(PR_SET_MM, PR_SET_MM_BRK, cur, 0, 0);
        printf("PR_SET_MM_BRK back: %d, break moved by %ld\n", r, syscall(SYS_brk, 0) - cur);
    }
    /* The allocator still works (tern's own too). */
    char *blocks[64];
    for (int i = 0; i < 64; i++) {
        blocks[i] = malloc(4096 * (size_t)(i + 1));
        memset(blocks[i], i, 4096 * (size_t)(i + 1));
    }
    long sum = 0;
    for (int i = 0; i < 64; i++) {
        sum += blocks[i][4096 * i];
        free(blocks[i]);
    }
    printf("allocations: %ld\n", sum);
    errno = 0;
    r = prctl(PR_SET_MM, 999, 0, 0, 0);
    printf("unknown PR_SET_MM option: %d %s\n", r, strerror(errno));
    return 0;
}
