/* CPUID after an execve: natively a program the process execs sees the
 * same CPU. Under tern the new tern takes the host's answers its parent
 * had (--host-cpuid) instead of asking the host again, so a fault in that
 * handover shows here as a different answer after the exec. The parent
 * passes its answers to leaves 0, 1 (without the APIC id, which names the
 * CPU the thread runs on), 7.0, 7.1, 0xd.0, 0xd.1, 0x80000000 and
 * 0x80000001 to the program it execs (itself), which compares them with
 * its own. */
#include <cpuid.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void answers(char *out, size_t size) {
    static const unsigned leaves[][2] = {{0, 0},   {1, 0},   {7, 0},          {7, 1},
                                         {0xd, 0}, {0xd, 1}, {0x80000000, 0}, {0x80000001, 0}};
    size_t at = 0;
    for (unsigned i = 0; i < sizeof leaves / sizeof leaves[0]; i++) {
        unsigned a, b, c, d;
        __cpuid_count(leaves[i][0], leaves[i][1], a, b, c, d);
        if (leaves[i][0] == 1)
            b &= 0x00ffffff;
        at += (size_t)snprintf(out + at, size - at, "%x.%x=%x.%x.%x.%x ", leaves[i][0], leaves[i][1], a, b, c, d);
    }
}

int main(int argc, char **argv) {
    char mine[1024];
    answers(mine, sizeof mine);
    if (argc > 2 && !strcmp(argv[1], "child")) {
        printf("after exec, the same answers as before: %d\n", !strcmp(mine, argv[2]));
        if (strcmp(mine, argv[2]))
            printf("before: %s\nafter:  %s\n", argv[2], mine);
        return 0;
    }
    fflush(stdout);
    execl("/proc/self/exe", argv[0], "child", mine, (char *)NULL);
    perror("execl");
    return 1;
}
