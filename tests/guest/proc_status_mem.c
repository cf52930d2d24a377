/* The memory lines of /proc/self/status and /proc/self/statm follow the
 * program's own mappings: what mapping, touching, sharing and unmapping
 * add to VmSize, VmRSS, RssAnon, RssShmem, VmData and to statm's fields,
 * in MiB, that VmPeak does not fall below VmSize nor below an earlier
 * VmSize, and that statm's size is VmSize. (VmHWM is left out: the
 * kernel updates it lazily, a run may see it below an earlier VmRSS.)
 * Under tern these lines once counted tern's memory too (VmSize in
 * gigabytes). Compared with the native run. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { SIZE, PEAK, RSS, HWM, ANON, SHMEM, DATA, STK, EXE, NFIELDS };
static const char *names[NFIELDS] = {"VmSize:", "VmPeak:", "VmRSS:", "VmHWM:", "RssAnon:",
                                     "RssShmem:", "VmData:", "VmStk:", "VmExe:"};

static char buf[1 << 16];

static void slurp(const char *path) {
    int fd = open(path, O_RDONLY);
    long n, len = 0;
    while (fd >= 0 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += n;
    buf[len] = 0;
    if (fd >= 0)
        close(fd);
}

/* The status fields in kB, and statm's seven in pages. */
static void sample(long *kb, long *statm) {
    slurp("/proc/self/status");
    for (int i = 0; i < NFIELDS; i++) {
        char *l = strstr(buf, names[i]);
        kb[i] = l ? strtol(l + strlen(names[i]), NULL, 10) : -1;
    }
    slurp("/proc/self/statm");
    char *p = buf;
    for (int i = 0; i < 7; i++)
        statm[i] = strtol(p, &p, 10);
}

static long mib(long kb) {
    return (kb + (kb < 0 ? -512 : 512)) / 1024;
}

static void delta(const char *what, const long *a, const long *b, const long *sa, const long *sb) {
    printf("%s: size %+ld rss %+ld anon %+ld shmem %+ld data %+ld MiB; statm size %+ld resident %+ld "
           "data %+ld MiB\n",
           what, mib(b[SIZE] - a[SIZE]), mib(b[RSS] - a[RSS]), mib(b[ANON] - a[ANON]),
           mib(b[SHMEM] - a[SHMEM]), mib(b[DATA] - a[DATA]), mib((sb[0] - sa[0]) * 4),
           mib((sb[1] - sa[1]) * 4), mib((sb[5] - sa[5]) * 4));
    printf("  peak holds: %d; statm size agrees: %d; exe %s; stack %s\n", b[PEAK] >= b[SIZE],
           sb[0] * 4 == b[SIZE], b[EXE] > 0 ? "yes" : "no",
           b[STK] > 0 && b[STK] < 64 * 1024 ? "small" : "odd");
}

int main(void) {
    long k0[NFIELDS], k1[NFIELDS], k2[NFIELDS], k3[NFIELDS], k4[NFIELDS];
    long s0[7], s1[7], s2[7], s3[7], s4[7];
    memset(buf, 1, sizeof buf); /* resident before the first sample */
    sample(k0, s0);
    sample(k0, s0);
    /* A small program's own: a few MB, not tern's gigabytes. */
    printf("at start under 256 MiB: size %d data %d, statm %d\n", k0[SIZE] < 256 << 10, k0[DATA] < 256 << 10,
           s0[0] < 64 << 10);
    char *anon = mmap(NULL, 64 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (anon == MAP_FAILED)
        return 1;
    sample(k1, s1);
    delta("64 MiB mapped", k0, k1, s0, s1);
    memset(anon, 7, 32 << 20);
    sample(k2, s2);
    delta("32 MiB of it touched", k1, k2, s1, s2);
    char *shared = mmap(NULL, 16 << 20, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED)
        return 1;
    memset(shared, 9, 16 << 20);
    sample(k3, s3);
    delta("16 MiB shared, touched", k2, k3, s2, s3);
    munmap(anon, 64 << 20);
    munmap(shared, 16 << 20);
    sample(k4, s4);
    delta("both unmapped", k3, k4, s3, s4);
    printf("peak kept: %d\n", mib(k4[PEAK]) >= mib(k3[SIZE]));
    return 0;
}
