/* Programs the kernel runs with other credentials, or that the process may
 * execute but not read: a set-user-ID and set-group-ID root program run by
 * an unprivileged process gains root's effective ids (not under
 * PR_SET_NO_NEW_PRIVS), and an execute-only program runs. tern cannot give
 * a guest those ids, nor read such a program, so it runs them natively;
 * before, the first ran without the ids and the second failed with
 * EACCES (LTP prctl06). Needs root to set the program up (chown), and
 * prints that it skipped otherwise; compared with the native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const uid_t NOBODY = 65534;

/* Runs `prog show` as nobody in a child (with no_new_privs if `nnp`). */
static void run_as_nobody(const char *what, const char *prog, int nnp) {
    printf("%s: ", what);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) || setresuid(NOBODY, NOBODY, NOBODY))
            _exit(2);
        if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
            _exit(3);
        execl(prog, "helper", "show", (char *)NULL);
        printf("execl: %s\n", strerror(errno));
        _exit(1);
    }
    int st;
    waitpid(c, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st))
        printf("(status %#x)\n", st);
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "show")) {
        uid_t r, e, s;
        gid_t rg, eg, sg;
        getresuid(&r, &e, &s);
        getresgid(&rg, &eg, &sg);
        printf("uids %u %u %u, gids %u %u %u\n", r, e, s, rg, eg, sg);
        return 0;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    if (geteuid() != 0) {
        printf("not root: skipped\n");
        return 0;
    }
    char dir[] = "/tmp/tern-exec-priv-XXXXXX";
    if (!mkdtemp(dir) || chmod(dir, 0755))
        return 1;
    char prog[64];
    snprintf(prog, sizeof prog, "%s/helper", dir);
    /* A copy of this program, owned by root. */
    int in = open("/proc/self/exe", O_RDONLY), out = open(prog, O_WRONLY | O_CREAT | O_EXCL, 0700);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            return 1;
    close(in);
    close(out);
    if (chown(prog, 0, 0))
        return 1;

    chmod(prog, 0755);
    run_as_nobody("plain", prog, 0);
    chmod(prog, 0111);
    run_as_nobody("execute-only", prog, 0);
    chmod(prog, 04755);
    run_as_nobody("set-user-ID root", prog, 0);
    chmod(prog, 02755);
    run_as_nobody("set-group-ID root", prog, 0);
    chmod(prog, 06111);
    run_as_nobody("set-ID root, execute-only", prog, 0);
    run_as_nobody("set-ID root, execute-only, no_new_privs", prog, 1);
    /* Its own set-ID bits change nothing for root. */
    chmod(prog, 06755);
    printf("root running it: ");
    pid_t c = fork();
    if (c == 0) {
        execl(prog, "helper", "show", (char *)NULL);
        _exit(1);
    }
    waitpid(c, NULL, 0);
    unlink(prog);
    rmdir(dir);
    return 0;
}
