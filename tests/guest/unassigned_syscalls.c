/* System call numbers: `uprobe` (336, Linux 6.16: ENXIO when not called
 * from a uprobe trampoline, ENOSYS before), and numbers no x86-64 kernel
 * assigns (the gap up to 423, 512 and up, x32's, -1): ENOSYS, and nothing
 * on standard error (tern warned on each, 836 lines for stress-ng's
 * enosys stressor). Then rax's upper half, which the kernel ignores (it
 * takes the number as an int): getpid with bits set there is getpid
 * (tern gave ENOSYS; the kernel selftest syscall_numbering); a negative
 * int is ENOSYS. Compared with the native run, stderr included. */
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
    long pid = getpid();
    unsigned long high[] = {1, 0xffffffff, 0x80000000, 0x3fffffff, 0x7fffffff};
    for (unsigned i = 0; i < sizeof high / sizeof *high; i++) {
        long r = syscall((long)(high[i] << 32 | SYS_getpid));
        printf("getpid | %#lx << 32: %s\n", high[i], r == pid ? "getpid" : "other");
    }
    long neg[] = {(long)0x80000000, (long)0xfffffffe, (long)0x1ffffffff, (long)0xffffffff80000027};
    for (unsigned i = 0; i < sizeof neg / sizeof *neg; i++) {
        long r = syscall(neg[i]);
        printf("%#lx: %ld %d\n", (unsigned long)neg[i], r, r < 0 ? errno : 0);
    }
    return 0;
}
