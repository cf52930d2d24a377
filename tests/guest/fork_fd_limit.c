/* fork, posix_spawn-like vfork and pipe with every descriptor up to
 * RLIMIT_NOFILE in use (LTP fork09): fork needs no descriptor natively,
 * so it must not under tern either. Compared with the native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct rlimit rl = {64, 64};
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        perror("setrlimit");
    int n = 0;
    while (open("/dev/null", O_RDONLY) >= 0)
        n++;
    printf("opened until %s\n", strerror(errno));
    int fds[2];
    printf("pipe: %s\n", pipe(fds) == 0 ? "ok" : strerror(errno));
    for (int i = 0; i < 3; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(open("/dev/null", O_RDONLY) < 0 && errno == EMFILE ? 5 : 6);
        if (pid < 0) {
            printf("fork %d: %s\n", i, strerror(errno));
            continue;
        }
        int st;
        waitpid(pid, &st, 0);
        printf("fork %d: child exit %d\n", i, WEXITSTATUS(st));
    }
    pid_t pid = vfork();
    if (pid == 0)
        _exit(7);
    int st;
    waitpid(pid, &st, 0);
    printf("vfork: %s, child exit %d\n", pid > 0 ? "ok" : strerror(errno), WEXITSTATUS(st));
    return 0;
}
