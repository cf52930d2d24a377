/* System call numbers: `uprobe` (336, Linux 6.16: ENXIO when not called
 * from a uprobe trampoline, ENOSYS before), and numbers no x86-64 kernel
 * assigns (the gap up to 423, 512 and up, x32's, -1): ENOSYS, and nothing
 * on standard error (tern warned on each, 836 lines for stress-ng's
 * enosys stressor). Compared with the native run, stderr included. */
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    long nrs[] = {336, 337, 400, 423, 512, 547, 0x40000000 + 1, 100000, -1};
    for (unsigned i = 0; i < sizeof nrs / sizeof *nrs; i++) {
        long r = syscall(nrs[i], 0, 0, 0);
        printf("%ld: %ld %d\n", nrs[i], r, r < 0 ? errno : 0);
    }
    return 0;
}
