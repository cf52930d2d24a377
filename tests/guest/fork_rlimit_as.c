/* fork under an address-space limit just above what the process uses
 * (RLIMIT_AS = VmSize + 64 MiB): the children run and exit as natively.
 * tern's fork child used to need a second gigabyte for its copy of the
 * code cache and died with exit 127. Compared with the native run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long vm = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmSize:", 7))
            vm = atol(line + 7) * 1024;
    if (f)
        fclose(f);
    struct rlimit r = {vm + (64 << 20), vm + (64 << 20)};
    if (vm == 0 || setrlimit(RLIMIT_AS, &r) != 0) {
        perror("setrlimit");
        return 1;
    }
    for (int i = 0; i < 3; i++) {
        pid_t p = fork();
        if (p < 0) {
            perror("fork");
            return 1;
        }
        if (p == 0) {
            char *big = malloc(1 << 20);
            memset(big, i, 1 << 20);
            printf("child %d ran %d\n", i, big[12345]);
            _exit(i);
        }
        int st;
        waitpid(p, &st, 0);
        printf("child %d exit %d\n", i, WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
    }
    return 0;
}
