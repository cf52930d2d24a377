/* /proc/self/exe once the main thread has ended with another running on:
 * the process's own entry then has no program, so readlink, open, stat
 * and execve of the link fail with ENOENT natively, while a thread's own
 * (/proc/self/task/TID/exe) still leads to the program. Under tern the
 * first ones gave the program all the same. Compared with the native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pid_t leader;

static const char *res(long r) {
    return r < 0 ? strerror(errno) : "ok";
}

/* True once the main thread is a zombie (its stat's state field). */
static int leader_gone(void) {
    char path[64], text[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)leader);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 1;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    text[n > 0 ? n : 0] = 0;
    char *close_paren = strrchr(text, ')');
    return close_paren && (close_paren[2] == 'Z' || close_paren[2] == 'X');
}

static void *orphan(void *arg) {
    (void)arg;
    for (int i = 0; i < 400 && !leader_gone(); i++)
        usleep(5000);
    char buf[256], task[64];
    struct stat st;
    printf("main thread gone: %d\n", leader_gone());
    printf("readlink: %s\n", res(readlink("/proc/self/exe", buf, sizeof buf)));
    printf("open: %s\n", res(open("/proc/self/exe", O_RDONLY)));
    printf("stat: %s\n", res(stat("/proc/self/exe", &st)));
    snprintf(task, sizeof task, "/proc/self/task/%d/exe", (int)gettid());
    long n = readlink(task, buf, sizeof buf);
    printf("own task's link: %s\n", res(n));
    printf("stat of it: %s\n", res(stat(task, &st)));
    char *argv[] = {"x", NULL};
    execv("/proc/self/exe", argv);
    printf("execv: %s\n", strerror(errno));
    fflush(stdout);
    exit(0);
}

int main(void) {
    leader = getpid();
    pthread_t t;
    if (pthread_create(&t, NULL, orphan, NULL) != 0)
        return 1;
    pthread_exit(NULL);
}
