/* A SIGALRM every millisecond (setitimer) while computing: a fixed amount of
 * integer work, interrupted by timer signals whose handler counts them.
 * Prints the work's checksum and whether ticks arrived, not their number
 * (which depends on speed). SIZE is the work in millions of steps. */
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include "common.h"

static volatile sig_atomic_t ticks;

static void on_alarm(int sig) {
    (void)sig;
    ticks++;
}

int main(int argc, char **argv) {
    long millions = arg_size(argc, argv, 100);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 1000}, {0, 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
    uint64_t h = CHECKSUM_INIT;
    for (long m = 0; m < millions; m++)
        for (long i = 0; i < 1000000; i++)
            h = h * 6364136223846793005ull + (uint64_t)i;
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    printf("alarm millions=%ld checksum=%016llx ticks=%s\n", millions, (unsigned long long)h,
           ticks > 0 ? "yes" : "none");
    return 0;
}
