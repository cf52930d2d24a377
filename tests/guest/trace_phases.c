/* Two phases: a loop that is hot for a moment at the start, then one that
 * runs on. With the trace tier's default delay the optimizer starts after
 * the first has ended: that head, waiting too long, is profiled again,
 * never gets hot again and is not compiled; the second loop's is.
 * argv[1]: the second loop's turns; argv[2] "addr": the two functions'
 * addresses on stderr (for the test that reads the installed heads);
 * argv[3]: milliseconds to sleep between the two loops. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

__attribute__((noinline)) static uint64_t early(uint64_t n) {
    uint64_t s = 1;
    for (uint64_t i = 0; i < n; i++) s = s * 6364136223846793005u + i;
    return s;
}

__attribute__((noinline)) static uint64_t late(uint64_t n) {
    uint64_t s = 3;
    for (uint64_t i = 0; i < n; i++) s = (s ^ (s >> 7)) * 0x9E3779B97F4A7C15u + i;
    return s;
}

int main(int argc, char **argv) {
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 20000000;
    if (argc > 2 && strcmp(argv[2], "addr") == 0)
        fprintf(stderr, "early %p late %p\n", (void *)early, (void *)late);
    printf("%llx\n", (unsigned long long)early(2000000));
    if (argc > 3) {
        long ms = strtol(argv[3], NULL, 10);
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    printf("%llx\n", (unsigned long long)late(n));
    return 0;
}
