/* /proc/self/task read one entry at a time (getdents64 with a buffer for
 * one entry) while a CLONE_VM child runs, and a thread created after it:
 * every thread is listed, as natively. tern runs a CLONE_VM child from a
 * helper thread of its own, which it leaves out of the listing; a batch
 * holding only the helper came back empty, which says the directory
 * ended, and the thread created after it was never listed. Compared with
 * the native run. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int go[2], stop[2];
static char stack[64 * 1024] __attribute__((aligned(16)));

static int child(void *arg) {
    (void)arg;
    char c;
    /* Raw calls: the child shares the parent's memory and libc state. */
    syscall(SYS_write, go[1], "x", 1);
    syscall(SYS_read, stop[0], &c, 1);
    return 0;
}

static void *idle(void *arg) {
    char c;
    (void)arg;
    return (void *)(long)read(stop[0], &c, 1);
}

/* Counts the entries other than . and .. reading `size` bytes a call. */
static int count(int size) {
    int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY);
    char buf[4096];
    int n = 0;
    for (;;) {
        long r = syscall(SYS_getdents64, fd, buf, size);
        if (r <= 0)
            break;
        for (long at = 0; at < r;) {
            struct dirent64 *d = (struct dirent64 *)(buf + at);
            n += strcmp(d->d_name, ".") && strcmp(d->d_name, "..");
            at += d->d_reclen;
        }
    }
    close(fd);
    return n;
}

int main(void) {
    if (pipe(go) || pipe(stop))
        return 1;
    pid_t pid = clone(child, stack + sizeof stack, CLONE_VM | SIGCHLD, NULL);
    char c;
    if (pid < 0 || read(go[0], &c, 1) != 1)
        return 2;
    pthread_t t;
    pthread_create(&t, NULL, idle, NULL);
    printf("threads, whole buffer: %d\n", count(4096));
    printf("threads, one entry a call: %d\n", count(32));
    if (write(stop[1], "xx", 2) != 2)
        return 3;
    pthread_join(t, NULL);
    int status;
    waitpid(pid, &status, 0);
    printf("child status %#x\n", status);
    return 0;
}
