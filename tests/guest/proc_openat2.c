/* openat2 of the /proc files tern shows the guest's way (maps, status,
 * auxv, the exe link): the same as open gives, with openat2's own checks
 * (RESOLVE_NO_MAGICLINKS refuses the exe link, unknown flags are EINVAL).
 * Under tern openat2 went to the host alone and read tern's own maps and
 * binary. Compared with the native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static long open2(const char *path, unsigned long long flags, unsigned long long resolve) {
    struct open_how how = {.flags = flags, .resolve = resolve};
    return syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
}

/* The whole file, read through `fd`. */
static long slurp(int fd, char *buf, long size) {
    long n = 0, r;
    while (n < size - 1 && (r = read(fd, buf + n, size - 1 - n)) > 0)
        n += r;
    buf[n] = 0;
    close(fd);
    return n;
}

int main(void) {
    static char a[1 << 16], b[1 << 16];
    const char *files[] = {"/proc/self/maps", "/proc/self/auxv", "/proc/self/cmdline"};
    for (int i = 0; i < 3; i++) {
        long n1 = slurp(open(files[i], O_RDONLY), a, sizeof a);
        long fd = open2(files[i], O_RDONLY | O_CLOEXEC, 0);
        long n2 = fd < 0 ? -1 : slurp(fd, b, sizeof b);
        printf("%s: same as open %d\n", files[i], n1 == n2 && !memcmp(a, b, n1));
    }
    struct stat via_open, via_open2;
    fstat(open("/proc/self/exe", O_RDONLY), &via_open);
    long fd = open2("/proc/self/exe", O_RDONLY, 0);
    fstat(fd, &via_open2);
    printf("exe: same file %d\n", via_open.st_ino == via_open2.st_ino && via_open.st_size == via_open2.st_size);
    fd = open2("/proc/self/exe", O_RDONLY, RESOLVE_NO_MAGICLINKS);
    printf("exe, no magic links: %s\n", fd < 0 ? strerror(errno) : "opened");
    fd = open2("/proc/self/maps", O_RDONLY | (1ull << 40), 0);
    printf("unknown flag: %s\n", fd < 0 ? strerror(errno) : "opened");
    fd = open2("/proc/self/maps", O_RDONLY, RESOLVE_BENEATH);
    printf("beneath: %s\n", fd < 0 ? strerror(errno) : "opened");
    fd = open2("/proc/self/status", O_WRONLY, 0);
    printf("status for writing: %s\n", fd < 0 ? strerror(errno) : "opened");
    return 0;
}
