/* What the kernel refuses before it touches a buffer keeps its errno under
 * tern: iovec counts past UIO_MAXIOV (EINVAL; EMSGSIZE in a msghdr), an
 * iov_len negative as ssize_t (EINVAL), a huge iov_len on a short file
 * (reads what there is), a negative offset (EINVAL); madvise of advice a
 * shared mapping refuses, over a length past the mapping (EINVAL), and
 * over a hole (ENOMEM); mseal, msync and mlock of ranges the kernel
 * refuses first (LTP mseal02); mmap with every flag bit set (EINVAL, open_posix
 * mmap/21-1); poll and select counts the kernel refuses before it reads
 * the arrays. LTP readv02, preadv02, recvmsg01, madvise02.
 * Compared with the native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static void show(const char *what, long r) {
    printf("%-36s %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
}

int main(void) {
    char path[] = "/tmp/tern-iov-XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    if (write(fd, "hello, world\n", 13) != 13)
        return 1;
    static char buf[64];
    static struct iovec many[1100];
    for (int i = 0; i < 1100; i++)
        many[i] = (struct iovec){buf, 1};
    show("readv 1025 iovecs", preadv(fd, many, 1025, 0));
    show("readv 1024 iovecs", preadv(fd, many, 1024, 0));
    volatile int minus1 = -1;
    show("readv count -1", preadv(fd, many, minus1, 0));
    struct iovec neg = {buf, (size_t)-1};
    show("readv iov_len -1", preadv(fd, &neg, 1, 0));
    show("writev iov_len -1", pwritev(fd, &neg, 1, 0));
    struct iovec huge = {buf, (size_t)1 << 40};
    show("readv iov_len 2^40 (short file)", preadv(fd, &huge, 1, 0));
    struct iovec one = {buf, 8};
    show("preadv offset -1", preadv(fd, &one, 1, -1));
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    struct msghdr m = {.msg_iov = many, .msg_iovlen = 1025};
    show("sendmsg 1025 iovecs", sendmsg(sv[0], &m, MSG_DONTWAIT));
    show("recvmsg 1025 iovecs", recvmsg(sv[1], &m, MSG_DONTWAIT));
    long pg = sysconf(_SC_PAGESIZE);
    char *sh = mmap(NULL, 4 * pg, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    munmap(sh + 2 * pg, 2 * pg);
    show("madvise WIPEONFORK shared, past end", madvise(sh, 64 * pg, MADV_WIPEONFORK));
    show("madvise WILLNEED into a hole", madvise(sh, 4 * pg, MADV_WILLNEED));
    show("madvise bad advice into a hole", madvise(sh + 2 * pg, pg, 12345));
    show("madvise WILLNEED mapped part", madvise(sh, 2 * pg, MADV_WILLNEED));
    /* Ranges the kernel refuses before it looks at the mappings. */
    show("mseal to the end of the address space", syscall(462, sh, -4095UL, 0UL));
    show("msync unaligned", msync(sh + 1, pg, MS_SYNC));
    show("mlock wrapping", mlock(sh, -4096UL));
    /* Every flag bit, MAP_FIXED_NOREPLACE and MAP_HUGETLB among them. */
    void *all = mmap(NULL, 1024, PROT_READ | PROT_WRITE, ~0, fd, 0);
    show("mmap with every flag", all == MAP_FAILED ? -1 : 0);
    /* poll of more descriptors than RLIMIT_NOFILE and select of a negative
     * count: EINVAL before the arrays are read (tern checked them first:
     * EFAULT; glibc's test-errno-linux). */
    struct pollfd pfd = {.fd = 0, .events = POLLIN};
    show("poll of -1 descriptors", syscall(SYS_poll, &pfd, -1L, 0L));
    show("ppoll of -1 descriptors", syscall(SYS_ppoll, &pfd, -1L, NULL, NULL, 8L));
    show("poll of 100000 at null", syscall(SYS_poll, NULL, 100000L, 0L));
    show("poll of 1 at null", syscall(SYS_poll, NULL, 1L, 0L));
    fd_set rs;
    FD_ZERO(&rs);
    struct timeval tv = {0, 0};
    show("select of -1", syscall(SYS_select, -1L, &rs, &rs, &rs, &tv));
    show("pselect6 of -1", syscall(SYS_pselect6, -1L, &rs, NULL, NULL, NULL, NULL));
    show("select of 1 at a bad set", syscall(SYS_select, 1L, (void *)8, NULL, NULL, &tv));
    return 0;
}
