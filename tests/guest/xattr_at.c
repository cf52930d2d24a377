/* The *xattrat calls (Linux 6.13): setxattrat and getxattrat take their
 * value through a struct xattr_args, which tern reads to check the value's
 * range; listxattrat and removexattrat beside them. By path, by directory
 * descriptor and by AT_EMPTY_PATH, and their errors: a value too small
 * (ERANGE), a bad value address and a bad structure (EFAULT), a structure
 * size too small (EINVAL), an attribute that is gone (ENODATA). Compared
 * with the native run; a kernel or file system without them prints the
 * same refusals natively and under tern. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SYS_setxattrat_ 463
#define SYS_getxattrat_ 464
#define SYS_listxattrat_ 465
#define SYS_removexattrat_ 466

struct xattr_args_ {
    uint64_t value;
    uint32_t size;
    uint32_t flags;
};

static void show(const char *what, long r) {
    printf("%-36s %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
}

static long get(int dfd, const char *path, int at, void *value, uint32_t size, size_t usize) {
    struct xattr_args_ a = {(uintptr_t)value, size, 0};
    return syscall(SYS_getxattrat_, dfd, path, at, "user.tern", &a, usize);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char dir[] = "/tmp/tern-xattr-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char file[64];
    snprintf(file, sizeof(file), "%s/file", dir);
    close(open(file, O_CREAT | O_WRONLY, 0600));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    int fd = open(file, O_RDONLY);

    struct xattr_args_ set = {(uintptr_t) "hello", 5, 0};
    show("setxattrat by path", syscall(SYS_setxattrat_, AT_FDCWD, file, 0, "user.tern", &set, sizeof(set)));
    char v[64] = {0};
    show("getxattrat by path", get(AT_FDCWD, file, 0, v, sizeof(v), sizeof(struct xattr_args_)));
    printf("value %s\n", v);
    memset(v, 0, sizeof(v));
    show("getxattrat by directory", get(dfd, "file", AT_SYMLINK_NOFOLLOW, v, sizeof(v), 16));
    printf("value %s\n", v);
    memset(v, 0, sizeof(v));
    show("getxattrat by descriptor", get(fd, "", AT_EMPTY_PATH, v, sizeof(v), 16));
    printf("value %s\n", v);
    show("getxattrat size only", get(AT_FDCWD, file, 0, NULL, 0, 16));
    show("getxattrat too small", get(AT_FDCWD, file, 0, v, 2, 16));
    show("getxattrat into a bad address", get(AT_FDCWD, file, 0, (void *)16, sizeof(v), 16));
    show("getxattrat a bad structure",
         syscall(SYS_getxattrat_, AT_FDCWD, file, 0, "user.tern", (void *)16, (size_t)16));
    show("getxattrat a short structure", get(AT_FDCWD, file, 0, v, sizeof(v), 8));
    struct xattr_args_ bad = {16, 5, 0};
    show("setxattrat from a bad address",
         syscall(SYS_setxattrat_, AT_FDCWD, file, 0, "user.tern2", &bad, sizeof(bad)));
    char list[128] = {0};
    long n = syscall(SYS_listxattrat_, AT_FDCWD, file, 0, list, sizeof(list));
    show("listxattrat", n);
    for (long i = 0; i < n; i += strlen(list + i) + 1)
        printf("  %s\n", list + i);
    show("removexattrat", syscall(SYS_removexattrat_, dfd, "file", 0, "user.tern"));
    show("getxattrat after removal", get(AT_FDCWD, file, 0, v, sizeof(v), 16));

    close(fd);
    close(dfd);
    unlink(file);
    rmdir(dir);
    return 0;
}
