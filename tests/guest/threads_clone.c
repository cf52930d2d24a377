/* clone and clone3 as thread creators, called directly: the kernel's
 * checks of flag combinations and clone_args, the tid words
 * (CLONE_PARENT_SETTID, CLONE_CHILD_SETTID, CLONE_CHILD_CLEARTID), a
 * thread pidfd (CLONE_PIDFD), threads that do not share files or cwd, and
 * per-thread calls: gettid, set_tid_address, prctl(PR_SET_NAME) with
 * /proc/self/task/TID/comm, sched_{get,set}affinity, tgkill. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM)

static const char *err(long r) {
    static char buf[32];
    if (r >= 0) return "ok";
    switch (-r) {
    case EINVAL: return "EINVAL";
    case E2BIG: return "E2BIG";
    case EFAULT: return "EFAULT";
    case EPERM: return "EPERM";
    case ENOSYS: return "ENOSYS";
    }
    snprintf(buf, sizeof buf, "errno %ld", -r);
    return buf;
}

/* Raw syscalls for the raw-cloned children, which share the parent's TLS
 * (so must not touch errno) and run on a small stack. */
static long sys3(long nr, long a, long b, long c) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}

/* clone3 that runs fn(arg) in the child on its new stack and exits it. */
static long raw_clone3(struct clone_args *a, size_t size, int (*fn)(void *), void *arg) {
    long ret;
    register long r12 __asm__("r12") = (long)arg;
    register long r13 __asm__("r13") = (long)fn;
    __asm__ volatile("syscall\n\t"
                     "test %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "xor %%ebp, %%ebp\n\t"
                     "mov %%r12, %%rdi\n\t"
                     "call *%%r13\n\t"
                     "mov %%eax, %%edi\n\t"
                     "mov $60, %%eax\n\t"
                     "syscall\n\t"
                     "ud2\n"
                     "1:"
                     : "=a"(ret)
                     : "a"(SYS_clone3), "D"(a), "S"(size), "r"(r12), "r"(r13)
                     : "rcx", "r11", "memory");
    return ret;
}

static long clone3_check(struct clone_args *a, size_t size) {
    /* Only for argument sets the kernel refuses: no child is made. */
    long r = syscall(SYS_clone3, a, size);
    return r < 0 ? -errno : r;
}

static long legacy_check(unsigned long flags, void *stack, void *ptid) {
    long r = syscall(SYS_clone, flags, stack, ptid, NULL, 0);
    return r < 0 ? -errno : r;
}

static char stacks[4][64 * 1024] __attribute__((aligned(16)));
static volatile int child_tid_seen;
static volatile int ctid_word;
static volatile int ptid_word;
static volatile int child_done;
static volatile long child_sta;

static int child_main(void *arg) {
    (void)arg;
    child_tid_seen = sys3(SYS_gettid, 0, 0, 0);
    /* The same word CLONE_CHILD_CLEARTID named: returns the tid. */
    child_sta = sys3(SYS_set_tid_address, (long)&ctid_word, 0, 0);
    __atomic_store_n(&child_done, 1, __ATOMIC_SEQ_CST);
    return 0;
}

static int fd_to_close;
static int closer_main(void *arg) {
    (void)arg;
    sys3(SYS_close, fd_to_close, 0, 0);
    sys3(SYS_chdir, (long)"/", 0, 0);
    __atomic_store_n(&child_done, 1, __ATOMIC_SEQ_CST);
    return 0;
}

/* Waits until *w is 0. The value waited on is the one tested: reading *w
 * again for the call would race the clear and sleep on 0 forever. */
static void wait_clear(volatile int *w) {
    int v;
    while ((v = __atomic_load_n(w, __ATOMIC_SEQ_CST)) != 0)
        syscall(SYS_futex, w, 0 /* FUTEX_WAIT */, v, NULL, NULL, 0);
}

static int count_lines(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static void *named(void *arg) {
    (void)arg;
    prctl(PR_SET_NAME, "tern-worker", 0, 0, 0);
    char name[17] = {0};
    prctl(PR_GET_NAME, name, 0, 0, 0);
    long tid = syscall(SYS_gettid);
    int tid_ok = tid != getpid();
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    int setaff = sched_setaffinity(0, sizeof set, &set);
    cpu_set_t got;
    sched_getaffinity(0, sizeof got, &got);
    char path[64], comm[32] = {0};
    snprintf(path, sizeof path, "/proc/self/task/%ld/comm", tid);
    int fd = open(path, O_RDONLY);
    read(fd, comm, sizeof comm - 1);
    close(fd);
    printf("thread: name %s, comm %s", name, comm);
    printf("thread: tid differs from pid %d, affinity set %d only cpu0 %d\n", tid_ok,
           setaff, CPU_COUNT(&got) == 1 && CPU_ISSET(0, &got));
    snprintf(path, sizeof path, "/proc/self/task/%ld/maps", tid);
    int task_maps = count_lines(path), self_maps = count_lines("/proc/self/maps");
    snprintf(path, sizeof path, "/proc/%ld/maps", tid);
    int tid_maps = count_lines(path);
    printf("thread: task maps as self maps %d, /proc/TID/maps too %d, thread-self too %d\n", task_maps == self_maps,
           tid_maps == self_maps, count_lines("/proc/thread-self/maps") == self_maps);
    printf("thread: tgkill 0 on itself %d, getppid same %d\n", (int)syscall(SYS_tgkill, getpid(), tid, 0),
           getppid() == *(pid_t *)arg);
    return NULL;
}

int main(void) {
    void *stk = stacks[0] + sizeof stacks[0];
    printf("legacy clone checks:\n");
    printf("  THREAD without SIGHAND: %s\n", err(legacy_check(CLONE_VM | CLONE_THREAD, stk, NULL)));
    printf("  SIGHAND without VM: %s\n", err(legacy_check(CLONE_SIGHAND | CLONE_THREAD, stk, NULL)));
    printf("  NEWNS with FS: %s\n", err(legacy_check(CLONE_NEWNS | CLONE_FS, stk, NULL)));
    printf("  THREAD with NEWUSER: %s\n", err(legacy_check(THREAD_FLAGS | CLONE_NEWUSER, stk, NULL)));
    printf("  THREAD with NEWPID: %s\n", err(legacy_check(THREAD_FLAGS | CLONE_NEWPID, stk, NULL)));
    int pfd = -1;
    printf("  PIDFD with PARENT_SETTID: %s\n",
           err(legacy_check(THREAD_FLAGS | CLONE_PIDFD | CLONE_PARENT_SETTID, stk, &pfd)));
    printf("  PIDFD with DETACHED: %s\n", err(legacy_check(THREAD_FLAGS | CLONE_PIDFD | CLONE_DETACHED, stk, &pfd)));

    printf("clone3 checks:\n");
    struct clone_args ca;
    unsigned char big[4200];
    memset(&ca, 0, sizeof ca);
    ca.flags = THREAD_FLAGS;
    ca.stack = (uintptr_t)stacks[0];
    ca.stack_size = sizeof stacks[0];
    printf("  size 0: %s\n", err(clone3_check(&ca, 0)));
    printf("  size 63: %s\n", err(clone3_check(&ca, 63)));
    memset(big, 0, sizeof big);
    memcpy(big, &ca, sizeof ca);
    printf("  size 4097: %s\n", err(clone3_check((void *)big, 4097)));
    big[100] = 1;
    printf("  nonzero tail: %s\n", err(clone3_check((void *)big, 128)));
    printf("  bad pointer: %s\n", err(clone3_check((void *)16, 88)));
    struct clone_args b = ca;
    b.exit_signal = SIGCHLD;
    printf("  THREAD with exit_signal: %s\n", err(clone3_check(&b, sizeof b)));
    b = ca;
    b.stack_size = 0;
    printf("  stack without size: %s\n", err(clone3_check(&b, sizeof b)));
    b = ca;
    b.stack = 0;
    printf("  size without stack: %s\n", err(clone3_check(&b, sizeof b)));
    b = ca;
    b.flags |= 1ull << 40;
    printf("  unknown flag: %s\n", err(clone3_check(&b, sizeof b)));
    b = ca;
    b.flags |= 0x11;
    printf("  CSIGNAL bits in flags: %s\n", err(clone3_check(&b, sizeof b)));
    b = ca;
    b.flags |= CLONE_CLEAR_SIGHAND;
    printf("  SIGHAND with CLEAR_SIGHAND: %s\n", err(clone3_check(&b, sizeof b)));
    b = ca;
    b.set_tid_size = 33;
    b.set_tid = (uintptr_t)big;
    printf("  set_tid_size 33: %s\n", err(clone3_check(&b, sizeof b)));
    b = ca;
    b.set_tid_size = 1;
    printf("  set_tid_size without set_tid: %s\n", err(clone3_check(&b, sizeof b)));
    b = ca;
    b.flags &= ~(unsigned long long)CLONE_SIGHAND;
    printf("  THREAD without SIGHAND: %s\n", err(clone3_check(&b, sizeof b)));

    /* A thread with the tid words, through clone3. */
    memset(&ca, 0, sizeof ca);
    ca.flags = THREAD_FLAGS | CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | CLONE_PIDFD;
    ca.stack = (uintptr_t)stacks[1];
    ca.stack_size = sizeof stacks[1];
    ca.parent_tid = (uintptr_t)&ptid_word;
    ca.child_tid = (uintptr_t)&ctid_word;
    int pidfd = -1;
    ca.pidfd = (uintptr_t)&pidfd;
    ctid_word = -1;
    long tid = raw_clone3(&ca, sizeof ca, child_main, NULL);
    int ptid_ok = ptid_word == tid;
    wait_clear(&ctid_word);
    struct pollfd pf = {pidfd, POLLIN, 0};
    int polled = poll(&pf, 1, 10000);
    printf("clone3 thread: tid>0 %d, parent_tid %d, child saw its tid %d, set_tid_address gave it %d, child_tid cleared %d, pidfd %d polls %d %s\n",
           tid > 0, ptid_ok, child_tid_seen == tid, child_sta == tid, ctid_word == 0, pidfd >= 0, polled,
           (pf.revents & POLLIN) ? "POLLIN" : "-");
    int cloexec = fcntl(pidfd, F_GETFD);
    printf("pidfd close-on-exec: %d\n", cloexec == FD_CLOEXEC);
    close(pidfd);

    /* A thread without CLONE_FILES and CLONE_FS (legacy clone through glibc). */
    int p[2];
    pipe(p);
    fd_to_close = p[1];
    char cwd_before[256], cwd_after[256];
    getcwd(cwd_before, sizeof cwd_before);
    child_done = 0;
    ctid_word = -1;
    tid = clone(closer_main, stacks[2] + sizeof stacks[2], CLONE_VM | CLONE_SIGHAND | CLONE_THREAD | CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID,
                NULL, NULL, NULL, &ctid_word);
    wait_clear(&ctid_word);
    getcwd(cwd_after, sizeof cwd_after);
    printf("thread without FILES/FS: created %d, closed fd still open here %d, cwd unchanged %d\n", tid > 0,
           fcntl(p[1], F_GETFD) >= 0, strcmp(cwd_before, cwd_after) == 0);

    pid_t ppid = getppid();
    pthread_t t;
    pthread_create(&t, NULL, named, &ppid);
    pthread_join(t, NULL);
    printf("main: set_tid_address returns pid %d\n", syscall(SYS_set_tid_address, NULL) == getpid());
    return 0;
}
