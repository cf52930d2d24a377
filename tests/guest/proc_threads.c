/* A process counts its threads as /proc shows them: the Threads: line of
 * status, num_threads in stat (field 20) and the entries of task/, read
 * through getdents64 and through the old getdents. Under tern with traces
 * on, tern's optimizer thread must not be among them; compared with the
 * native run, single-threaded, with three more threads, and after they
 * are joined. A loop before each count makes traces form.
 *
 * A joined thread is not gone at once: the kernel clears and wakes its
 * tid word (what pthread_join waits for) before it takes the thread out
 * of the group, natively too, and a loaded machine can preempt the
 * thread in between; so after the joins the counts are read once stat
 * and task/ say one thread, or after two seconds. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static pthread_barrier_t start, stop;

/* The file at path into buf, NUL-terminated; false if it cannot be read. */
static int slurp(const char *path, char *buf, size_t cap) {
    int fd = open(path, O_RDONLY);
    long n = fd < 0 ? -1 : read(fd, buf, cap - 1);
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    return 1;
}

static long field_after(const char *path, const char *key) {
    char buf[8192];
    char *p = slurp(path, buf, sizeof buf) ? strstr(buf, key) : NULL;
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/* Field 20 of stat: the 18th after the ')' that ends the name. */
static long stat_threads(void) {
    char buf[4096];
    char *p = slurp("/proc/self/stat", buf, sizeof buf) ? strrchr(buf, ')') : NULL;
    for (int i = 0; p && i < 18; i++)
        p = strchr(p + 1, ' ');
    return p ? strtol(p + 1, NULL, 10) : -1;
}

/* Entries of task/ that are numbers, by getdents64 (nr 217) or getdents
 * (nr 78), with a small buffer so that it takes several calls. */
static int task_entries(long nr) {
    int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY);
    char buf[64];
    int count = 0;
    long n;
    while ((n = syscall(nr, fd, buf, sizeof buf)) > 0) {
        for (long at = 0; at < n;) {
            unsigned short len;
            memcpy(&len, buf + at + 16, 2);
            const char *name = buf + at + (nr == SYS_getdents64 ? 19 : 18);
            count += name[0] >= '0' && name[0] <= '9';
            at += len;
        }
    }
    close(fd);
    return count;
}

static volatile unsigned long sink;

static void count(const char *when) {
    for (unsigned long i = 0; i < 200000; i++)
        sink += i * i;
    printf("%s: status %ld, stat %ld, task/ %d (getdents64) %d (getdents)\n", when,
           field_after("/proc/self/status", "Threads:"), stat_threads(), task_entries(SYS_getdents64),
           task_entries(SYS_getdents));
}

static void *worker(void *arg) {
    (void)arg;
    pthread_barrier_wait(&start);
    pthread_barrier_wait(&stop);
    return NULL;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    count("one thread");
    pthread_barrier_init(&start, NULL, 4);
    pthread_barrier_init(&stop, NULL, 4);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    pthread_barrier_wait(&start);
    count("four threads");
    pthread_barrier_wait(&stop);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    for (int ms = 0; ms < 2000 && (stat_threads() != 1 || task_entries(SYS_getdents64) != 1); ms++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    count("joined");
    return 0;
}
