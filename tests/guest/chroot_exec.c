/* exec inside a chroot (a new user and mount namespace, the system's /usr
 * and /proc bound into an empty directory), from a process that holds a
 * POSIX timer: under tern such a process's child cannot load the new
 * program itself, so tern runs a new tern, which it found by the path it
 * started from: a path the chroot does not have (ENOENT for every exec,
 * glibc's test-container tests). Now through /proc/self/exe. Compared
 * with the native run (no namespaces to be had: said so, both runs). */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char root[64];

static void in_root(const char *sub, char *out) {
    snprintf(out, 128, "%s/%s", root, sub);
}

static int in_chroot(void);

static int removed(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)st, (void)type, (void)ftw;
    remove(path);
    return 0;
}

int main(void) {
    snprintf(root, sizeof root, "/tmp/tern-chroot-%d", (int)getpid());
    /* The namespaces in a child, so that this process removes the
     * directory after (the mounts go with the child's namespace). */
    pid_t pid = fork();
    if (pid == 0) {
        fflush(stdout);
        _exit(in_chroot());
    }
    int status;
    waitpid(pid, &status, 0);
    /* Whatever is in it (tern may keep a cache under the chroot's home). */
    nftw(root, removed, 16, FTW_DEPTH | FTW_PHYS);
    printf("set-up status %#x\n", status);
    return 0;
}

static int in_chroot(void) {
    char usr[128], proc[128], link[128];
    mkdir(root, 0755);
    in_root("usr", usr);
    in_root("proc", proc);
    mkdir(usr, 0755);
    mkdir(proc, 0755);
    const char *links[][2] = {{"bin", "usr/bin"}, {"lib", "usr/lib"}, {"lib64", "usr/lib64"}};
    for (int i = 0; i < 3; i++) {
        in_root(links[i][0], link);
        if (symlink(links[i][1], link) != 0)
            return 1;
    }
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
        printf("no namespaces here\n");
        fflush(stdout);
        return 0;
    }
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) || mount("/usr", usr, NULL, MS_BIND | MS_REC, NULL) ||
        mount("/proc", proc, NULL, MS_BIND | MS_REC, NULL) || chroot(root) || chdir("/")) {
        printf("set-up: %s\n", strerror(errno));
        return 1;
    }
    timer_t timer;
    if (timer_create(CLOCK_MONOTONIC, NULL, &timer) != 0)
        return 1;
    for (int i = 0; i < 2; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            execl("/bin/sh", "sh", "-c", i ? "exit 7" : "test -d /usr/bin && echo in the chroot", (char *)0);
            printf("exec: %s\n", strerror(errno));
            fflush(stdout);
            _exit(127);
        }
        int status;
        waitpid(pid, &status, 0);
        printf("child %d: status %#x\n", i, status);
    }
    fflush(stdout);
    return 0;
}
