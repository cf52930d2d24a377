/* execveat and fexecve (descriptor, directory + relative path,
 * AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW, close-on-exec descriptors and
 * scripts), the errnos of failed execs (the caller keeps running), and
 * LD_PRELOAD / GLIBC_TUNABLES given to an exec'd program reaching that
 * program only. Each exec runs in a forked child; its output goes through
 * a pipe and is printed by the parent. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static char dir[] = "/tmp/tern-exec-XXXXXX";
static char path_buf[512];

static const char *in_dir(const char *name) {
    snprintf(path_buf, sizeof path_buf, "%s/%s", dir, name);
    return path_buf;
}

static void write_file(const char *name, const char *text, int mode) {
    int fd = open(in_dir(name), O_WRONLY | O_CREAT | O_TRUNC, mode);
    write(fd, text, strlen(text));
    close(fd);
    chmod(in_dir(name), mode);
}

static long raw_execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags) {
    return syscall(SYS_execveat, dirfd, path, argv, envp, flags);
}

typedef void (*exec_fn)(void *arg);

/* Runs f in a child with stdout and stderr on a pipe; prints what it wrote
 * (lines starting with "keep" filter), the errno it reported, its status. */
static void run(const char *what, exec_fn f, void *arg, const char *keep) {
    int p[2];
    pipe(p);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        f(arg);
        printf("errno %s\n", strerror(errno));
        fflush(stdout);
        _exit(9);
    }
    close(p[1]);
    char buf[65536];
    size_t n = 0;
    ssize_t r;
    while ((r = read(p[0], buf + n, sizeof buf - 1 - n)) > 0)
        n += r;
    buf[n] = 0;
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    printf("== %s: status %d\n", what, WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
        if (!keep || strncmp(line, keep, strlen(keep)) == 0 || strncmp(line, "errno", 5) == 0 ||
            strstr(line, "TERN"))
            printf("  %s\n", line);
}

static char *echo_argv[] = {"echo", "hello", "from", "exec", NULL};

static void ex_fexecve(void *arg) {
    int fd = open("/bin/echo", O_RDONLY | (arg ? O_CLOEXEC : 0));
    fexecve(fd, echo_argv, environ);
}

static void ex_empty_path(void *arg) {
    (void)arg;
    int fd = open("/bin/echo", O_PATH | O_CLOEXEC);
    raw_execveat(fd, "", echo_argv, environ, AT_EMPTY_PATH);
}

static void ex_dirfd(void *arg) {
    int fd = open("/bin", O_RDONLY | O_DIRECTORY | (arg ? O_CLOEXEC : 0));
    raw_execveat(fd, "echo", echo_argv, environ, 0);
}

static void ex_script_fd(void *arg) {
    int fd = open(in_dir("script.sh"), O_RDONLY | (arg ? O_CLOEXEC : 0));
    char *argv[] = {"script", "one", NULL};
    fexecve(fd, argv, environ);
}

static void ex_nofollow(void *arg) {
    const char *name = arg;
    raw_execveat(AT_FDCWD, in_dir(name), echo_argv, environ, AT_SYMLINK_NOFOLLOW);
}

static void ex_badflags(void *arg) {
    (void)arg;
    raw_execveat(AT_FDCWD, "/bin/echo", echo_argv, environ, 0x8000);
}

static void ex_baddirfd(void *arg) {
    (void)arg;
    raw_execveat(9999, "echo", echo_argv, environ, 0);
}

static void ex_notdir(void *arg) {
    (void)arg;
    int fd = open("/bin/echo", O_RDONLY);
    raw_execveat(fd, "echo", echo_argv, environ, 0);
}

static void ex_empty_noflag(void *arg) {
    (void)arg;
    int fd = open("/bin/echo", O_RDONLY);
    raw_execveat(fd, "", echo_argv, environ, 0);
}

static void ex_path(void *arg) {
    execve((const char *)arg, echo_argv, environ);
}

static void ex_badargv(void *arg) {
    (void)arg;
    char **volatile bad = (char **)8;
    execve("/bin/echo", bad, environ);
}

static void ex_env(void *arg) {
    (void)arg;
    char *argv[] = {"env", NULL};
    char *envp[] = {"LD_PRELOAD=/nonexistent/tern-test-preload.so", "GLIBC_TUNABLES=glibc.malloc.check=0",
                    "MALLOC_PERTURB_=0", "LD_LIBRARY_PATH=/nonexistent/lib", "PLAIN=1", NULL};
    execve("/usr/bin/env", argv, envp);
}

/* A path relative to a directory descriptor just short of PATH_MAX (20
 * directories of 200 characters, then a 73-character name: 4,093 bytes):
 * the kernel opens the descriptor and the path as they are (tern named
 * them /dev/fd/N/path, past PATH_MAX: ENAMETOOLONG; the kernel selftest
 * execveat). The names end in `e` (a link to /bin/echo) or `s` (the
 * script). */
static char deep[4096];

static void make_deep(void) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    char seg[201];
    memset(seg, 'd', 200);
    seg[200] = 0;
    for (int i = 0; i < 20; i++) {
        mkdirat(fd, seg, 0755);
        int next = openat(fd, seg, O_RDONLY | O_DIRECTORY);
        close(fd);
        fd = next;
        strcat(deep, seg);
        strcat(deep, "/");
    }
    size_t len = 4093 - strlen(deep);
    memset(deep + strlen(deep), 'n', len);
    deep[4092] = 'e';
    symlinkat("/bin/echo", fd, deep + 4020);
    deep[4092] = 's';
    int f = openat(fd, deep + 4020, O_WRONLY | O_CREAT, 0755);
    write(f, "#!/bin/sh\necho script \"$@\"\n", 27);
    close(f);
    close(fd);
}

static void ex_deep(void *arg) {
    const char *how = arg;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | (strchr(how, 'c') ? O_CLOEXEC : 0));
    deep[4092] = strchr(how, 's') ? 's' : 'e';
    char *argv[] = {"deep", "one", NULL};
    raw_execveat(fd, deep, strchr(how, 's') ? argv : echo_argv, environ, strchr(how, 'n') ? AT_SYMLINK_NOFOLLOW : 0);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!mkdtemp(dir))
        return 1;
    write_file("script.sh", "#!/bin/sh\necho script \"$@\"\n", 0755);
    write_file("plain.txt", "not a program\n", 0644);
    write_file("garbage", "\x01\x02\x03 garbage\n", 0755);
    symlink("/bin/echo", in_dir("link"));

    run("fexecve", ex_fexecve, NULL, NULL);
    run("fexecve O_CLOEXEC", ex_fexecve, "", NULL);
    run("execveat AT_EMPTY_PATH O_PATH", ex_empty_path, NULL, NULL);
    run("execveat dirfd", ex_dirfd, NULL, NULL);
    run("execveat dirfd O_CLOEXEC", ex_dirfd, "", NULL);
    run("fexecve script", ex_script_fd, NULL, NULL);
    run("fexecve script O_CLOEXEC", ex_script_fd, "", NULL);
    run("AT_SYMLINK_NOFOLLOW link", ex_nofollow, "link", NULL);
    run("AT_SYMLINK_NOFOLLOW file", ex_nofollow, "script.sh", NULL);
    run("execveat bad flags", ex_badflags, NULL, NULL);
    run("execveat bad dirfd", ex_baddirfd, NULL, NULL);
    run("execveat dirfd not a directory", ex_notdir, NULL, NULL);
    run("execveat empty path without AT_EMPTY_PATH", ex_empty_noflag, NULL, NULL);
    run("missing", ex_path, "/nonexistent/program", NULL);
    run("not executable", ex_path, (void *)strdup(in_dir("plain.txt")), NULL);
    run("directory", ex_path, "/tmp", NULL);
    run("unknown format", ex_path, (void *)strdup(in_dir("garbage")), NULL);
    run("path through a file", ex_path, "/bin/echo/x", NULL);
    run("bad argv", ex_badargv, NULL, NULL);
    run("guest environment", ex_env, NULL, NULL);
    make_deep();
    run("execveat dirfd, path near PATH_MAX", ex_deep, "", NULL);
    run("execveat dirfd O_CLOEXEC, path near PATH_MAX", ex_deep, "c", NULL);
    run("execveat AT_SYMLINK_NOFOLLOW, path near PATH_MAX", ex_deep, "n", NULL);
    /* The script's interpreter gets a name past PATH_MAX natively: it
     * fails, in its own words. */
    run("execveat script, path near PATH_MAX", ex_deep, "s", "script");

    /* The failed execs above left this process running. */
    unlink(in_dir("script.sh"));
    unlink(in_dir("plain.txt"));
    unlink(in_dir("garbage"));
    unlink(in_dir("link"));
    char rm[64];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    system(rm);
    printf("done\n");
    return 0;
}
