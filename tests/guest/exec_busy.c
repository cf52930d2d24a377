#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
/* execve of a program that is open for writing fails with ETXTBSY (the
 * kernel denies a running program writers), and the caller runs on; tern
 * only reads the program, so it asks the kernel (see
 * syscalls/src/task.rs: open_for_writing); before, the exec went on.
 * fexecve of a memfd still open for writing, and of one reopened
 * read-only, too. Compared with the native run. */
static void try(const char *what, const char *path, int fd) {
    pid_t c = fork();
    if (c == 0) {
        char *argv[] = {"prog", NULL}, *envp[] = {NULL};
        if (fd >= 0) fexecve(fd, argv, envp); else execve(path, argv, envp);
        printf("%s: %s\n", what, strerror(errno));
        _exit(1);
    }
    int st; waitpid(c, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) printf("%s: ran\n", what);
}
int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char path[] = "/tmp/tern-etxtbsy-XXXXXX";
    int w = mkstemp(path);
    int in = open("/bin/true", O_RDONLY); char buf[65536]; ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) if (write(w, buf, n) != n) return 1;
    fchmod(w, 0755);
    try("open for writing", path, -1);
    close(w);
    try("closed", path, -1);
    int m = memfd_create("prog", MFD_CLOEXEC);
    lseek(in, 0, SEEK_SET);
    while ((n = read(in, buf, sizeof buf)) > 0) if (write(m, buf, n) != n) return 1;
    try("memfd open for writing", NULL, m);
    char p2[64]; snprintf(p2, sizeof p2, "/proc/self/fd/%d", m);
    int r = open(p2, O_RDONLY | O_CLOEXEC);
    close(m);
    try("memfd reopened read-only", NULL, r);
    unlink(path);
    return 0;
}
