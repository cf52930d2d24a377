/* A program started with descriptor 0, 1 or 2 closed finds it closed
 * (fstat fails with EBADF), as natively: under tern, Rust's runtime opens
 * /dev/null on closed standard descriptors, and tern must close them again
 * before the guest runs (CPython's test_posix: posix_spawn with a close
 * action on 0). Each case execs this program again with one of them
 * closed; the child reports through its exit status. Compared with the
 * native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc > 1) {
        /* The child: bit fd set when fstat(fd) fails with EBADF. */
        int closed = 0;
        struct stat st;
        for (int fd = 0; fd < 3; fd++)
            if (fstat(fd, &st) != 0 && errno == EBADF)
                closed |= 1 << fd;
        /* The lowest free descriptor is the closed one, as natively. */
        int fd = dup(closed & 1 ? 1 : 0);
        return closed | (fd < 3 ? 8 : 0);
    }
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return 1;
    self[n] = 0;
    fflush(stdout);
    for (int which = 0; which < 3; which++) {
        pid_t pid = fork();
        if (pid == 0) {
            close(which);
            execl(self, self, "child", (char *)NULL);
            _exit(127);
        }
        int st;
        waitpid(pid, &st, 0);
        printf("closed %d: child sees closed mask %d, dup lands low %d\n", which, WEXITSTATUS(st) & 7,
               !!(WEXITSTATUS(st) & 8));
    }
    return 0;
}
