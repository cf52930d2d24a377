/* What other processes see of a program this one execs: its name
 * (/proc/PID/comm, what pkill, pgrep and killall match), its command
 * line (/proc/PID/cmdline, what ps and pgrep -f show) and its program
 * (the /proc/PID/exe link, what ps -o exe and psutil show). Natively the
 * name is the basename of the exec'd path, the command line the arguments
 * the program got (a script's interpreter line first) and the program the
 * file exec'd (a script's interpreter), the link resolved. Under tern all
 * three were tern's own ("tern", "tern --cpu ... --execve ...", tern's
 * binary), so `pkill sleep` missed a sleep run under tern. Compared with
 * the native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int read_file(pid_t pid, const char *what, char *buf, int size) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, what);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int n = (int)fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n < 0 ? 0 : n] = 0;
    return n;
}

/* Waits (up to 5 s) until the child's name is `name` and it has a command
 * line, then shows both, ends it and shows how it ended. */
static void show(pid_t pid, const char *name) {
    char comm[64] = "", cmd[4096];
    int n = 0;
    for (int i = 0; i < 500; i++) {
        read_file(pid, "comm", comm, sizeof comm);
        comm[strcspn(comm, "\n")] = 0;
        /* The kernel names the process before it sets up the new command
         * line: natively, cmdline can be empty just after comm changed. */
        n = read_file(pid, "cmdline", cmd, sizeof cmd);
        if (!strcmp(comm, name) && n > 0)
            break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    printf("name '%s', command line (%d bytes):", comm, n);
    for (int i = 0; i < n; i++)
        printf(cmd[i] ? "%c" : " |", cmd[i]);
    /* The program, through the process's link and its main thread's, read
     * and opened. */
    char link[64], exe[PATH_MAX], task_exe[PATH_MAX];
    snprintf(link, sizeof link, "/proc/%d/exe", (int)pid);
    ssize_t e = readlink(link, exe, sizeof exe - 1);
    exe[e < 0 ? 0 : e] = 0;
    snprintf(link, sizeof link, "/proc/%d/task/%d/exe", (int)pid, (int)pid);
    e = readlink(link, task_exe, sizeof task_exe - 1);
    task_exe[e < 0 ? 0 : e] = 0;
    struct stat opened, named;
    int same = -1;
    int fd = open(link, O_RDONLY);
    if (fd >= 0 && fstat(fd, &opened) == 0 && stat(exe, &named) == 0)
        same = opened.st_ino == named.st_ino && opened.st_dev == named.st_dev;
    if (fd >= 0)
        close(fd);
    /* A running program cannot be opened for writing (ETXTBSY). */
    int w = open(link, O_RDWR);
    printf("; program %s (task's: %s, opened: %s, for writing: %s)", exe, strcmp(exe, task_exe) ? task_exe : "same",
           same == 1 ? "that file" : same == 0 ? "another file" : "error", w >= 0 ? "opened" : strerror(errno));
    if (w >= 0)
        close(w);
    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
    printf("; ended by signal %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    /* Its own name, as the kernel gave it at exec (tern's was "tern"). */
    char own[64] = "", named[17] = "";
    read_file(getpid(), "comm", own, sizeof own);
    prctl(PR_GET_NAME, named);
    printf("own name %s", own);
    printf("PR_GET_NAME %s\n", named);
    int w = open("/proc/self/exe", O_WRONLY);
    printf("own program for writing: %s\n", w >= 0 ? "opened" : strerror(errno));
    char dir[] = "/tmp/tern-proc-names-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    /* Relative paths, so that the output does not name the directory. */
    if (chdir(dir))
        return 1;
    const char *script = "./nap.sh", *longname = "./a-rather-long-program-name";
    FILE *f = fopen(script, "w");
    fputs("#!/bin/sh -e\nsleep 5\n", f);
    fclose(f);
    chmod(script, 0755);
    symlink("/bin/sleep", longname);

    pid_t p = fork();
    if (p == 0) {
        execl("/bin/sleep", "sleep", "5", (char *)NULL);
        _exit(127);
    }
    show(p, "sleep");
    p = fork();
    if (p == 0) {
        execl("/bin/sleep", "renamed", "5", (char *)NULL);
        _exit(127);
    }
    show(p, "sleep");
    p = fork();
    if (p == 0) {
        execl(script, "nap", "one", "two", (char *)NULL);
        _exit(127);
    }
    show(p, "nap.sh");
    p = fork();
    if (p == 0) {
        execl(longname, "long", "5", (char *)NULL);
        _exit(127);
    }
    show(p, "a-rather-long-p");
    unlink(script);
    unlink(longname);
    if (chdir("/"))
        return 1;
    rmdir(dir);
    return 0;
}
