/* A signal sent to a child the moment fork returns, before the child has
 * run any code of its own, must reach it: the child dies by that signal
 * (with a core for the core-dumping ones, under a small RLIMIT_CORE in a
 * scratch directory), never by the alarm it sets as a fallback. Under
 * tern the child first resets tern's signal state; a signal that arrived
 * meanwhile was once lost, and LTP kill11's child paused for ever.
 * Prints, per signal, how many of the children died by it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    static const int sigs[] = {SIGILL, SIGSEGV, SIGBUS, SIGFPE, SIGTRAP, SIGHUP, SIGUSR1, SIGTERM};
    char dir[] = "/tmp/fork_kill_race.XXXXXX";
    if (!mkdtemp(dir) || chdir(dir) != 0)
        return 1;
    struct rlimit core = {0, 0};
    setrlimit(RLIMIT_CORE, &core);
    for (unsigned s = 0; s < sizeof sigs / sizeof *sigs; s++) {
        int by_sig = 0;
        for (int i = 0; i < 20; i++) {
            pid_t p = fork();
            if (p < 0)
                return 1;
            if (p == 0) {
                alarm(3);
                for (;;)
                    pause();
            }
            kill(p, sigs[s]);
            int st;
            if (waitpid(p, &st, 0) != p)
                return 1;
            by_sig += WIFSIGNALED(st) && WTERMSIG(st) == sigs[s];
        }
        printf("signal %d: %d of 20 children died by it\n", sigs[s], by_sig);
    }
    if (chdir("/") != 0 || rmdir(dir) != 0)
        return 1;
    return 0;
}
