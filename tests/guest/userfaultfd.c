/* userfaultfd as lazy-restore tools (CRIU), postcopy migration and some
 * garbage collectors use it: a handler thread resolves the missing-page
 * faults of a registered range with UFFDIO_COPY and UFFDIO_ZEROPAGE, while
 * the faults come from the program's own loads and stores and from the
 * kernel's copies for read() and write(); UFFD_FEATURE_SIGBUS turns a
 * fault into SIGBUS; UFFDIO_WAKE, UFFDIO_UNREGISTER, the API handshake and
 * its errors (a second UFFDIO_API, an unknown feature, an unaligned or
 * unmapped range, a file mapping). LTP userfaultfd01-07 and mremap07.
 * Compared with the native run; a host that refuses userfaultfd (no
 * CONFIG_USERFAULTFD, unprivileged users kept out) prints the same refusal
 * natively and under tern. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGES 8

static long page;
static char *area;
static int uffd;
static int served;

static void show(const char *what, long r) {
    printf("%-36s %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
}

static int new_uffd(int flags) {
    int fd = syscall(SYS_userfaultfd, flags);
    if (fd < 0 && (errno == EPERM || errno == ENOSYS)) {
        int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
        if (dev >= 0) {
            fd = ioctl(dev, USERFAULTFD_IOC_NEW, flags);
            close(dev);
        }
    }
    return fd;
}

static long api(int fd, uint64_t features) {
    struct uffdio_api a = {.api = UFFD_API, .features = features};
    return ioctl(fd, UFFDIO_API, &a);
}

static long reg(int fd, void *at, long len, uint64_t mode) {
    struct uffdio_register r = {.range = {.start = (uintptr_t)at, .len = len}, .mode = mode};
    return ioctl(fd, UFFDIO_REGISTER, &r);
}

/* Page i's contents when the handler supplies it. */
static void fill(char *buf, long i) {
    for (long j = 0; j < page; j++)
        buf[j] = (char)('a' + (i * 7 + j) % 26);
}

/* Serves faults until it has served `n`: odd pages get a copy, even pages
 * the zero page. */
static void *handler(void *arg) {
    long n = (long)arg;
    char *buf = aligned_alloc(page, page);
    while (served < n) {
        struct pollfd p = {.fd = uffd, .events = POLLIN};
        if (poll(&p, 1, 5000) != 1) {
            printf("handler: poll timed out\n");
            break;
        }
        struct uffd_msg m;
        if (read(uffd, &m, sizeof m) != sizeof m) {
            if (errno == EAGAIN)
                continue;
            show("handler read", -1);
            break;
        }
        if (m.event != UFFD_EVENT_PAGEFAULT) {
            printf("handler: event %u\n", m.event);
            continue;
        }
        uint64_t at = m.arg.pagefault.address & ~(uint64_t)(page - 1);
        long i = (long)(at - (uintptr_t)area) / page;
        long r;
        if (i % 2) {
            fill(buf, i);
            struct uffdio_copy c = {.dst = at, .src = (uintptr_t)buf, .len = page};
            r = ioctl(uffd, UFFDIO_COPY, &c);
            if (r < 0 && errno == EEXIST)
                r = 0;
        } else {
            struct uffdio_zeropage z = {.range = {.start = at, .len = page}};
            r = ioctl(uffd, UFFDIO_ZEROPAGE, &z);
            if (r < 0 && errno == EEXIST)
                r = 0;
        }
        if (r < 0)
            show("handler resolve", r);
        __atomic_add_fetch(&served, 1, __ATOMIC_SEQ_CST);
    }
    free(buf);
    return NULL;
}

static sigjmp_buf back;
static volatile uintptr_t bus_addr;
static volatile int bus_code;

static void on_bus(int sig, siginfo_t *si, void *uc) {
    (void)sig, (void)uc;
    bus_addr = (uintptr_t)si->si_addr;
    bus_code = si->si_code;
    siglongjmp(back, 1);
}

static void missing_faults(void) {
    area = mmap(NULL, PAGES * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    show("register missing", reg(uffd, area, PAGES * page, UFFDIO_REGISTER_MODE_MISSING));
    pthread_t t;
    pthread_create(&t, NULL, handler, (void *)7);
    /* Loads and a store by the program itself. */
    long sum = 0;
    for (int i = 0; i < 4; i++)
        for (long j = 0; j < page; j += 512)
            sum += area[i * page + j];
    area[5 * page + 3] = 'Z';
    printf("sum of pages 0-3 %ld, page 5 byte 3 %c byte 4 %c\n", sum, area[5 * page + 3], area[5 * page + 4]);
    /* The kernel's copies: write() reads page 7, read() writes page 6. */
    int p[2];
    if (pipe(p) == 0) {
        long w = write(p[1], area + 7 * page + 100, 16);
        long r = read(p[0], area + 6 * page, 16);
        printf("pipe write %ld read %ld: %.16s (page 6 byte 20: %d)\n", w, r, area + 6 * page, area[6 * page + 20]);
        close(p[0]);
        close(p[1]);
    }
    pthread_join(t, NULL);
    printf("faults served %d\n", served);
    struct uffdio_range all = {.start = (uintptr_t)area, .len = PAGES * page};
    show("wake", ioctl(uffd, UFFDIO_WAKE, &all));
    show("unregister", ioctl(uffd, UFFDIO_UNREGISTER, &all));
    show("unregister again", ioctl(uffd, UFFDIO_UNREGISTER, &all));
    show("copy after unregister", ioctl(uffd, UFFDIO_COPY, &(struct uffdio_copy){.dst = (uintptr_t)area, .src = (uintptr_t)area + page, .len = page}));
    munmap(area, PAGES * page);
}

static void sigbus_mode(void) {
    int fd = new_uffd(O_CLOEXEC | O_NONBLOCK);
    show("api sigbus", api(fd, UFFD_FEATURE_SIGBUS));
    char *a = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    show("register sigbus", reg(fd, a, 2 * page, UFFDIO_REGISTER_MODE_MISSING));
    struct sigaction sa = {.sa_sigaction = on_bus, .sa_flags = SA_SIGINFO};
    sigaction(SIGBUS, &sa, NULL);
    volatile char *v = a;
    if (sigsetjmp(back, 1) == 0) {
        char c = v[page + 17];
        printf("no SIGBUS (read %d)\n", c);
    } else {
        printf("SIGBUS code %d at page offset %ld\n", bus_code, (long)(bus_addr - (uintptr_t)a));
    }
    /* A read() into the range: the kernel's copy fails instead. */
    int p[2];
    if (pipe(p) == 0) {
        write(p[1], "0123456789", 10);
        show("read into sigbus range", read(p[0], a + 5, 10));
        close(p[0]);
        close(p[1]);
    }
    signal(SIGBUS, SIG_DFL);
    munmap(a, 2 * page);
    close(fd);
}

static void errors(void) {
    int fd = new_uffd(O_CLOEXEC | O_NONBLOCK);
    char *a = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    show("register before api", reg(fd, a, page, UFFDIO_REGISTER_MODE_MISSING));
    show("api unknown feature", api(fd, 1ULL << 62));
    close(fd);
    fd = new_uffd(O_CLOEXEC | O_NONBLOCK);
    show("api", api(fd, 0));
    show("api again", api(fd, 0));
    show("register unaligned", reg(fd, a + 1, page, UFFDIO_REGISTER_MODE_MISSING));
    show("register no mode", reg(fd, a, page, 0));
    show("register zero length", reg(fd, a, 0, UFFDIO_REGISTER_MODE_MISSING));
    munmap(a + page, page);
    show("register part unmapped", reg(fd, a, 2 * page, UFFDIO_REGISTER_MODE_MISSING));
    FILE *f = tmpfile();
    char *m = MAP_FAILED;
    if (f && ftruncate(fileno(f), page) == 0)
        m = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fileno(f), 0);
    if (m != MAP_FAILED) {
        show("register file mapping", reg(fd, m, page, UFFDIO_REGISTER_MODE_MISSING));
        munmap(m, page);
    }
    if (f)
        fclose(f);
    show("register high address", reg(fd, (void *)0x7ffffffff000 - 16 * page, page, UFFDIO_REGISTER_MODE_MISSING));
    static char src[1 << 16];
    char *b = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    show("copy unregistered", ioctl(fd, UFFDIO_COPY, &(struct uffdio_copy){.dst = (uintptr_t)b, .src = (uintptr_t)src, .len = page}));
    munmap(b, page);
    munmap(a, page);
    close(fd);
    show("userfaultfd bad flags", new_uffd(0x7fff0000));
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    page = sysconf(_SC_PAGESIZE);
    uffd = new_uffd(O_CLOEXEC | O_NONBLOCK);
    if (uffd < 0) {
        printf("userfaultfd refused: %s\n", strerror(errno));
        return 0;
    }
    struct uffdio_api a = {.api = UFFD_API, .features = 0};
    show("api", ioctl(uffd, UFFDIO_API, &a));
    printf("ioctls register %d unregister %d api %d\n", !!(a.ioctls & (1ULL << _UFFDIO_REGISTER)),
           !!(a.ioctls & (1ULL << _UFFDIO_UNREGISTER)), !!(a.ioctls & (1ULL << _UFFDIO_API)));
    missing_faults();
    close(uffd);
    sigbus_mode();
    errors();
    return 0;
}
