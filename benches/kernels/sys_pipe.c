/* Pipe ping-pong between two threads: SIZE round trips of one byte over a
 * pair of pipes, each side blocking in read() until the other writes. */
#include <pthread.h>
#include <unistd.h>
#include "common.h"

static int ping[2], pong[2];
static long rounds;

static void *echo(void *arg) {
    (void)arg;
    unsigned char c;
    for (long i = 0; i < rounds; i++) {
        if (read(ping[0], &c, 1) != 1)
            return (void *)1;
        c++;
        if (write(pong[1], &c, 1) != 1)
            return (void *)1;
    }
    return NULL;
}

int main(int argc, char **argv) {
    rounds = arg_size(argc, argv, 100000);
    if (pipe(ping) || pipe(pong)) {
        perror("pipe");
        return 1;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, echo, NULL)) {
        perror("pthread_create");
        return 1;
    }
    uint64_t h = CHECKSUM_INIT;
    unsigned char c = 0;
    for (long i = 0; i < rounds; i++) {
        if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1) {
            perror("pipe io");
            return 1;
        }
        h = mix(h, c);
    }
    void *ret;
    pthread_join(t, &ret);
    printf("pipe rounds=%ld last=%u checksum=%016llx status=%s\n", rounds, c, (unsigned long long)h,
           ret ? "error" : "ok");
    return ret != NULL;
}
