/* The /proc files tern writes for the guest (/proc/self/maps, auxv,
 * cmdline, environ, /proc/cpuinfo) open like the real ones: a read-only
 * descriptor at the lowest free number (splice from an empty pipe into
 * it is EBADF at once, not a wait; write is EBADF), the open's own
 * errors (O_DIRECTORY), O_PATH, O_CLOEXEC and O_NONBLOCK as asked
 * (LTP splice07); fstat, fstatat with AT_EMPTY_PATH, statx, fstatfs and
 * cachestat of the descriptor answer as for the /proc file (size 0,
 * mode 0444, procfs, nothing cached: LTP cachestat04). Compared with the
 * native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

static const char *err(long r) { return r < 0 ? strerror(errno) : ""; }

int main(void) {
    int p[2];
    if (pipe(p) != 0)
        return 1;
    int fd = open("/proc/self/maps", O_RDONLY);
    printf("fd %d flags %#x\n", fd, fcntl(fd, F_GETFL) & ~0x8000);
    long r = splice(p[0], NULL, fd, NULL, 1, 0);
    printf("splice %ld %s\n", r, err(r));
    r = write(fd, "x", 1);
    printf("write %ld %s\n", r, err(r));
    char b[16];
    r = read(fd, b, 5);
    printf("read %ld\n", r);
    int fd2 = open("/proc/self/maps", O_WRONLY);
    printf("wronly %d %s\n", fd2, err(fd2));
    int fd3 = open("/proc/self/maps", O_RDONLY | O_DIRECTORY);
    printf("dir %d %s\n", fd3, err(fd3));
    int fd4 = open("/proc/self/maps", O_PATH | O_CLOEXEC);
    printf("path %d cloexec %d\n", fd4, fcntl(fd4, F_GETFD));
    int fd5 = open("/proc/cpuinfo", O_RDONLY | O_NONBLOCK);
    printf("cpuinfo %d nonblock %d\n", fd5, !!(fcntl(fd5, F_GETFL) & O_NONBLOCK));
    int fd6 = open("/proc/self/auxv", O_RDONLY | O_CLOEXEC);
    printf("auxv %d cloexec %d\n", fd6, fcntl(fd6, F_GETFD));
    const char *files[] = {"/proc/self/maps", "/proc/self/status", "/proc/self/cmdline", "/proc/self/auxv",
                           "/proc/cpuinfo"};
    for (unsigned i = 0; i < sizeof files / sizeof files[0]; i++) {
        int f = open(files[i], O_RDONLY);
        struct stat st, at;
        struct statx sx;
        struct statfs sf;
        fstat(f, &st);
        fstatat(f, "", &at, AT_EMPTY_PATH);
        statx(f, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx);
        fstatfs(f, &sf);
        printf("%s: mode %o size %ld nlink %ld blksize %ld | at mode %o size %ld | statx mode %o size %llu | fs %#lx\n",
               files[i], st.st_mode, (long)st.st_size, (long)st.st_nlink, (long)st.st_blksize, at.st_mode,
               (long)at.st_size, sx.stx_mode, (unsigned long long)sx.stx_size, (long)sf.f_type);
        unsigned long long range[2] = {0, 0}, cs[5] = {9, 9, 9, 9, 9};
        r = syscall(451 /* cachestat */, f, range, cs, 0);
        printf("  cachestat %ld %s: cached %llu dirty %llu\n", r, err(r), cs[0], cs[1]);
        close(f);
    }
    return 0;
}
