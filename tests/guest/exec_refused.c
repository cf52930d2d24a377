/* Execs the kernel refuses while it opens the file, which tern must refuse
 * the same way although it only reads what it runs (and may load it in
 * the exec'ing process itself):
 *  - a program on a `noexec` mount: EACCES;
 *  - a program whose exec a fanotify listener vetoes (FAN_OPEN_EXEC_PERM
 *    answered FAN_DENY): EPERM, after exactly one question per exec.
 * Each from a fork child's execv, from posix_spawn (whose child execs after
 * a vfork) and from the process itself. Needs root for a mount namespace,
 * a tmpfs and fanotify; without them it says so, natively and under tern
 * alike. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static atomic_int questions;

static int copy(const char *from, const char *to) {
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (in < 0 || out < 0)
        return -1;
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            return -1;
    close(in);
    return close(out);
}

/* Tries to run `prog` three ways and prints what each got. */
static void try_runs(const char *what, char *prog) {
    char *argv[] = {prog, NULL};
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execv(prog, argv);
        printf("%s: fork child's execv: %s\n", what, strerror(errno));
        fflush(stdout);
        _exit(3);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    printf("%s: fork child: exit %d\n", what, WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
    pid_t spawned;
    int r = posix_spawn(&spawned, prog, NULL, NULL, argv, environ);
    printf("%s: posix_spawn: %s\n", what, r ? strerror(r) : "started");
    if (r == 0)
        waitpid(spawned, &status, 0);
    int e = execv(prog, argv) == 0 ? 0 : errno;
    printf("%s: execv: %s\n", what, strerror(e));
}

/* Answers every exec question on the listener's mark with a veto. */
static void *listener(void *arg) {
    int fan = *(int *)arg;
    char buf[4096] __attribute__((aligned(8)));
    for (;;) {
        ssize_t n = read(fan, buf, sizeof buf);
        if (n <= 0)
            return NULL;
        struct fanotify_event_metadata *m = (struct fanotify_event_metadata *)buf;
        for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
            if (m->mask & FAN_OPEN_EXEC_PERM) {
                /* Counted before the answer, which lets the exec return. */
                atomic_fetch_add(&questions, 1);
                struct fanotify_response resp = {.fd = m->fd, .response = FAN_DENY};
                if (write(fan, &resp, sizeof resp) != sizeof resp)
                    return NULL;
            }
            close(m->fd);
        }
    }
}

int main(void) {
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        printf("no mount namespace\n");
        return 0;
    }
    char dir[] = "/tmp/tern-exec-refused-XXXXXX";
    if (!mkdtemp(dir)) {
        printf("no directory\n");
        return 0;
    }
    char prog[96];
    snprintf(prog, sizeof prog, "%s/true", dir);
    if (mount("tmpfs", dir, "tmpfs", MS_NOEXEC, "size=4m") == 0) {
        if (copy("/bin/true", prog) == 0)
            try_runs("noexec", prog);
        umount(dir);
    } else {
        printf("no tmpfs\n");
    }
    int fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY);
    if (fan < 0) {
        printf("no fanotify\n");
    } else if (copy("/bin/true", prog) != 0 || fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN_EXEC_PERM, AT_FDCWD, prog) != 0) {
        printf("no fanotify mark\n");
    } else {
        pthread_t t;
        pthread_create(&t, NULL, listener, &fan);
        try_runs("vetoed", prog);
        printf("questions: %d\n", atomic_load(&questions));
    }
    unlink(prog);
    rmdir(dir);
    fflush(stdout);
    _exit(0);
}
