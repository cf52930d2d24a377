/* process_madvise(2) on this process (a pidfd of its own, and
 * PIDFD_SELF_THREAD_GROUP) and on a child: MADV_DONTNEED on anonymous
 * memory (zero afterwards; any advice is allowed on oneself since Linux
 * 6.13), on code the program changed in a private file mapping and ran
 * (the file's code runs after it, not the translation of the change),
 * MADV_COLD and MADV_PAGEOUT, several ranges with a hole among them (the
 * bytes advised before it), and the errors: flags, too many ranges, a bad
 * vector, a bad descriptor, unknown advice. Compared with the native run;
 * a kernel that refuses some of it prints the same refusals natively and
 * under tern. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define PIDFD_SELF_THREAD_GROUP (-20000)

static long pmadvise(int pidfd, struct iovec *iov, size_t n, int advice, unsigned flags) {
    return syscall(SYS_process_madvise, pidfd, iov, n, advice, flags);
}

static void show(const char *what, long r) {
    printf("%-40s %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
}

typedef int (*fn_t)(void);

/* mov eax, imm32; ret */
static void put_code(uint8_t *p, int v) {
    p[0] = 0xb8;
    memcpy(p + 1, &v, 4);
    p[5] = 0xc3;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    long page = sysconf(_SC_PAGESIZE);
    int self = syscall(SYS_pidfd_open, getpid(), 0);
    show("pidfd_open self", self < 0 ? self : 0);

    char *m = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(m, 'x', 4 * page);
    struct iovec one = {m, page};
    show("DONTNEED on oneself", pmadvise(self, &one, 1, MADV_DONTNEED, 0));
    printf("first page now %d, second %c\n", m[0], m[page]);
    show("COLD on oneself", pmadvise(self, &one, 1, MADV_COLD, 0));
    show("PAGEOUT by PIDFD_SELF_THREAD_GROUP", pmadvise(PIDFD_SELF_THREAD_GROUP, &one, 1, MADV_PAGEOUT, 0));

    /* Two ranges, then a hole: the bytes advised before it. */
    munmap(m + 3 * page, page);
    struct iovec three[3] = {{m, page}, {m + page, page}, {m + 3 * page, page}};
    show("ranges with a hole", pmadvise(self, three, 3, MADV_DONTNEED, 0));
    show("a hole first", pmadvise(self, three + 2, 1, MADV_DONTNEED, 0));

    /* Code from a file, changed in the private copy and run, dropped: the
     * file's code again. */
    char path[] = "/tmp/tern-pmadvise-XXXXXX";
    int fd = mkstemp(path);
    uint8_t *buf = calloc(1, page);
    put_code(buf, 1);
    write(fd, buf, page);
    uint8_t *code = mmap(NULL, page, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE, fd, 0);
    unlink(path);
    int from_file = ((fn_t)code)();
    put_code(code, 2);
    int changed = ((fn_t)code)();
    struct iovec c = {code, page};
    show("DONTNEED on code", pmadvise(self, &c, 1, MADV_DONTNEED, 0));
    printf("code ran %d, %d, then %d\n", from_file, changed, ((fn_t)code)());

    show("flags", pmadvise(self, &one, 1, MADV_COLD, 1));
    show("too many ranges", pmadvise(self, &one, 2000, MADV_COLD, 0));
    show("a bad vector", pmadvise(self, (struct iovec *)16, 1, MADV_COLD, 0));
    show("a bad descriptor", pmadvise(999, &one, 1, MADV_COLD, 0));
    show("unknown advice", pmadvise(self, &one, 1, 9999, 0));
    show("no ranges", pmadvise(self, NULL, 0, MADV_COLD, 0));

    /* A child's memory: the advice another process may give. */
    int pipefd[2];
    pipe(pipefd);
    pid_t pid = fork();
    if (pid == 0) {
        close(pipefd[0]);
        char *cm = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        memset(cm, 'y', page);
        write(pipefd[1], &cm, sizeof(cm));
        pause();
        _exit(0);
    }
    close(pipefd[1]);
    char *cm = NULL;
    read(pipefd[0], &cm, sizeof(cm));
    int child = syscall(SYS_pidfd_open, pid, 0);
    struct iovec ci = {cm, page};
    show("COLD on a child", pmadvise(child, &ci, 1, MADV_COLD, 0));
    show("DONTNEED on a child", pmadvise(child, &ci, 1, MADV_DONTNEED, 0));
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return 0;
}
