/* Signal round trips: SIZE times kill(getpid(), SIGUSR1), each delivered to
 * a handler before kill returns. Prints how many the handler saw. */
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include "common.h"

static volatile sig_atomic_t seen;

static void on_usr1(int sig) {
    (void)sig;
    seen++;
}

int main(int argc, char **argv) {
    long n = arg_size(argc, argv, 100000);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    pid_t self = getpid();
    for (long i = 0; i < n; i++)
        kill(self, SIGUSR1);
    printf("signal sent=%ld handled=%ld\n", n, (long)seen);
    return seen != n;
}
