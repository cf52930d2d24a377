/* Fork and the code both processes have run: under tern a parent and its
 * fork child share the code translated before the fork until one of them
 * has to change it. Each process here runs code the other ran, code only it
 * runs (new paths through old functions, whose jumps it links), rewrites a
 * page of code the other one still runs, forks again while sharing, and a
 * child whose exec fails (E2BIG) carries on. Every value must be the one
 * each process computes natively. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* Many small paths: bit b of k picks one of two steps. The parent runs
 * k < 16 before the fork; each process then takes paths of its own. */
__attribute__((noinline)) static unsigned long path(unsigned long x, unsigned k) {
    if (k & 1) x = x * 3 + 1; else x ^= x >> 3;
    if (k & 2) x += 0x9e3779b9; else x = (x << 5) | (x >> 59);
    if (k & 4) x *= 0x2545f491; else x -= k;
    if (k & 8) x ^= 0xdeadbeef; else x += x >> 11;
    if (k & 16) x = x * 7 + 5; else x ^= x << 13;
    if (k & 32) x += 12345; else x = ~x;
    if (k & 64) x ^= x >> 17; else x *= 31;
    return x;
}

static unsigned long paths(unsigned lo, unsigned hi, int rounds) {
    unsigned long h = 1;
    for (int r = 0; r < rounds; r++)
        for (unsigned k = lo; k < hi; k++) h = path(h, k) + r;
    return h;
}

/* A page of code: `jmp` over a filler to `mov eax, imm32; ret`, so its
 * two blocks are linked by a jump that rewriting the page unlinks. */
static unsigned char *code;

static void set_code(unsigned v) {
    unsigned char c[] = {0xeb, 0x02, 0x0f, 0x0b, 0xb8, 0, 0, 0, 0, 0xc3};
    memcpy(c + 5, &v, 4);
    memcpy(code, c, sizeof c);
}

static unsigned call_code(void) {
    unsigned v = 0;
    for (int i = 0; i < 3; i++) v = ((unsigned (*)(void))code)();
    return v;
}

static void finish(const char *who, pid_t child) {
    int st = 0;
    if (child > 0 && waitpid(child, &st, 0) != child) {
        perror("waitpid");
        exit(1);
    }
    if (child > 0) printf("%s: child status %d\n", who, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    fflush(stdout);
}

static void grandchild(void) {
    printf("grandchild: paths 96..128 %lx\n", paths(96, 128, 50));
    printf("grandchild: old paths %lx\n", paths(0, 16, 20));
    finish("grandchild", 0);
    _exit(3);
}

/* More argument bytes than exec takes: E2BIG, natively as under tern.
 * Built before the fork, so that the child execs at once. */
static char **too_many_args(void) {
    enum { N = 100, LEN = 100000 };
    char **argv = calloc(N + 2, sizeof *argv);
    argv[0] = "/bin/true";
    for (int i = 1; i <= N; i++) {
        argv[i] = malloc(LEN);
        memset(argv[i], 'a', LEN - 1);
        argv[i][LEN - 1] = 0;
    }
    return argv;
}

static void failed_exec(char **argv) {
    execv("/bin/true", argv);
    printf("exec child: execv failed: %s\n", errno == E2BIG ? "E2BIG" : strerror(errno));
    printf("exec child: paths 16..64 %lx\n", paths(16, 64, 200));
    printf("exec child: old paths %lx, code %u\n", paths(0, 16, 20), call_code());
    finish("exec child", 0);
    _exit(4);
}

int main(void) {
    code = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    set_code(1);
    printf("parent: before fork %lx, code %u\n", paths(0, 16, 20), call_code());
    fflush(stdout);
    int go[2];
    if (pipe(go)) return 1;
    pid_t child = fork();
    if (child == 0) {
        close(go[1]);
        char c;
        /* The parent has rewritten its code page by now. */
        if (read(go[0], &c, 1) != 1) _exit(1);
        printf("child: code after the parent's rewrite %u\n", call_code());
        printf("child: old paths %lx\n", paths(0, 16, 20));
        /* New paths through old code, often enough to link them. */
        printf("child: paths 16..96 %lx\n", paths(16, 96, 300));
        set_code(3);
        printf("child: own code %u\n", call_code());
        fflush(stdout);
        pid_t g = fork();
        if (g == 0) grandchild();
        finish("child", g);
        char **argv = too_many_args();
        pid_t e = fork();
        if (e == 0) failed_exec(argv);
        finish("child", e);
        printf("child: after its children %lx, code %u\n", paths(0, 128, 20), call_code());
        fflush(stdout);
        _exit(2);
    }
    close(go[0]);
    set_code(2);
    unsigned mine = call_code();
    if (write(go[1], "x", 1) != 1) return 1;
    unsigned long p = paths(64, 128, 300);
    finish("parent", child);
    printf("parent: own code %u, paths 64..128 %lx\n", mine, p);
    printf("parent: old paths %lx, code %u\n", paths(0, 16, 20), call_code());
    return 0;
}
