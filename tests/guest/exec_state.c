/* What survives an execve and what does not, seen by the new program:
 * the process's id and parent, signal dispositions (a handler becomes
 * SIG_DFL, SIG_IGN stays, flags and masks go), the blocked mask and a
 * pending signal (kept), the alternate signal stack (gone), descriptors
 * (close-on-exec ones closed, others kept, at any number), an interval
 * timer (kept, still counting), a POSIX timer (deleted), READ_IMPLIES_EXEC
 * (cleared) and the dumpable flag (set again), the old
 * program's memory (gone), /proc/self/cmdline, comm, exe and
 * AT_EXECFN, and the parent's setpgid of its exec'd child (EACCES).
 * Each exec runs in a forked child (a fork + exec, the way
 * bash and make run commands), the parent waits and prints the status;
 * one chain execs twice in one process. Run natively and under tern, the
 * outputs must agree. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OLD_MAP ((void *)0x7e0000000000UL)

static void on_usr1(int sig) { (void)sig; }

static const char *disposition(int sig) {
    struct sigaction sa;
    sigaction(sig, NULL, &sa);
    if (sa.sa_handler == SIG_DFL)
        return "default";
    if (sa.sa_handler == SIG_IGN)
        return "ignored";
    return "handled";
}

static void show_proc(const char *name) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/%s", name);
    int fd = open(path, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0)
        close(fd);
    if (n < 0)
        n = 0;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == 0 || buf[i] == '\n')
            buf[i] = ' ';
    buf[n] = 0;
    printf("  %s: %s\n", name, buf);
}

/* The program after the exec: argv[1] is "after", argv[2] unused,
 * argv[3] how many more execs to chain, argv[4] this program's path; the
 * pid before the exec is in EXEC_STATE_PID (not in argv, which the output
 * shows). */
static int after(int argc, char **argv) {
    printf("after exec (%d args):\n", argc);
    printf("  same pid: %d\n", getpid() == atoi(getenv("EXEC_STATE_PID")));
    printf("  SIGUSR1 %s, SIGUSR2 %s, SIGPIPE %s\n", disposition(SIGUSR1), disposition(SIGUSR2),
           disposition(SIGPIPE));
    struct sigaction sa;
    sigaction(SIGUSR2, NULL, &sa);
    printf("  SIGUSR2 flags %#x, mask has SIGHUP %d\n", sa.sa_flags & ~0x04000000, sigismember(&sa.sa_mask, SIGHUP));
    sigset_t mask, pending;
    sigprocmask(SIG_BLOCK, NULL, &mask);
    sigpending(&pending);
    printf("  SIGTERM blocked %d, pending %d; SIGINT blocked %d\n", sigismember(&mask, SIGTERM),
           sigismember(&pending, SIGTERM), sigismember(&mask, SIGINT));
    stack_t ss;
    sigaltstack(NULL, &ss);
    printf("  altstack disabled %d\n", (ss.ss_flags & SS_DISABLE) != 0);
    printf("  fd 5 %s, fd 6 %s, fd 700 %s\n", fcntl(5, F_GETFD) < 0 ? "closed" : "open",
           fcntl(6, F_GETFD) < 0 ? "closed" : "open", fcntl(700, F_GETFD) < 0 ? "closed" : "open");
    struct itimerval it;
    getitimer(ITIMER_REAL, &it);
    printf("  itimer running %d\n", it.it_value.tv_sec > 0 || it.it_value.tv_usec > 0);
    printf("  READ_IMPLIES_EXEC %d, dumpable %d\n", (personality(0xffffffff) & READ_IMPLIES_EXEC) != 0,
           prctl(PR_GET_DUMPABLE));
    unsigned char vec;
    errno = 0;
    int r = mincore(OLD_MAP, 4096, &vec);
    printf("  old mapping: %d %s\n", r, r ? strerror(errno) : "");
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    printf("  AT_EXECFN %s\n", strrchr(execfn, '/') ? strrchr(execfn, '/') + 1 : execfn);
    char exe[512];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n < 0 ? 0 : n] = 0;
    printf("  exe is this program %d\n", n > 0 && strcmp(exe, argv[4]) == 0);
    show_proc("cmdline");
    show_proc("comm");
    /* A POSIX timer the old program armed is gone: SIGUSR1 is default now
     * and the process would die of it if it fired. */
    struct timespec nap = {0, 50 * 1000 * 1000};
    nanosleep(&nap, NULL);
    printf("  alive after the POSIX timer's time\n");
    if (strcmp(argv[2], "sync") == 0) {
        /* The parent tries setpgid on this exec'd child now. */
        char c = 'r';
        fflush(stdout);
        write(9, &c, 1);
        read(8, &c, 1);
    }
    int more = atoi(argv[3]);
    if (more > 0) {
        char left[16];
        snprintf(left, sizeof left, "%d", more - 1);
        fflush(stdout);
        execl(argv[4], "exec_state-again", "after", argv[2], left, argv[4], (char *)NULL);
        perror("execl");
        return 1;
    }
    signal(SIGTERM, SIG_DFL);
    fflush(stdout);
    return 7;
}

static void child(const char *self, int chain, int posix_timer, int sync) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART | SA_NODEFER;
    sigaddset(&sa.sa_mask, SIGHUP);
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGPIPE, &sa, NULL);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, NULL);
    kill(getpid(), SIGTERM);
    static char alt[65536];
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    dup3(fd, 5, O_CLOEXEC);
    dup2(fd, 6);
    dup3(fd, 700, O_CLOEXEC);
    close(fd);
    struct itimerval it = {{0, 0}, {100, 0}};
    setitimer(ITIMER_REAL, &it, NULL);
    personality(personality(0xffffffff) | READ_IMPLIES_EXEC);
    prctl(PR_SET_DUMPABLE, 0);
    mmap(OLD_MAP, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (posix_timer) {
        timer_t t;
        struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
        timer_create(CLOCK_MONOTONIC, &ev, &t);
        struct itimerspec when = {{0, 0}, {0, 20 * 1000 * 1000}};
        timer_settime(t, 0, &when, NULL);
    }
    char pid[16], more[16];
    snprintf(pid, sizeof pid, "%d", getpid());
    setenv("EXEC_STATE_PID", pid, 1);
    snprintf(more, sizeof more, "%d", chain);
    fflush(stdout);
    execl(self, "exec_state-new", "after", sync ? "sync" : "-", more, self, (char *)NULL);
    perror("execl");
    _exit(1);
}

int main(int argc, char **argv) {
    if (argc > 4 && strcmp(argv[1], "after") == 0)
        return after(argc, argv);
    char self[512];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n < 0 ? 0 : n] = 0;
    struct {
        int chain, posix_timer;
    } runs[] = {{0, 0}, {1, 0}, {0, 1}};
    for (unsigned i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        printf("run %u (chain %d, posix timer %d)\n", i, runs[i].chain, runs[i].posix_timer);
        fflush(stdout);
        /* Run 0 shakes hands with its exec'd child: a parent's setpgid of
         * a child that has exec'd is EACCES. */
        int ready[2], go[2], sync = i == 0;
        if (sync && (pipe(ready) || pipe(go)))
            return 1;
        pid_t pid = fork();
        if (pid == 0) {
            if (sync) {
                dup2(go[0], 8);
                dup2(ready[1], 9);
            }
            child(self, runs[i].chain, runs[i].posix_timer, sync);
        }
        if (sync) {
            char c;
            read(ready[0], &c, 1);
            errno = 0;
            int r = setpgid(pid, pid);
            printf("setpgid of the exec'd child: %d %s\n", r, r ? strerror(errno) : "");
            write(go[1], "g", 1);
            close(ready[0]), close(ready[1]), close(go[0]), close(go[1]);
        }
        int status;
        waitpid(pid, &status, 0);
        printf("status %#x\n", status);
    }
    return 0;
}
