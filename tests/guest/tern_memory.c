/* tern_memory.c - a tern-only probe (its test states what tern must do; a
 * native run is the baseline in which nothing is hidden).
 *
 * With no argument: pointers into memory that is not the guest's. Under
 * tern, /proc/self/maps hides tern's own mappings, while this process's
 * maps read by a child (the host's view) list them. Each hidden range is passed to
 * calls that read or write through a pointer (must fail with EFAULT, as for
 * unmapped memory) and to calls on address ranges (ENOMEM, as for an
 * unmapped range; `munmap` succeeds, as on a hole, and changes nothing;
 * userfaultfd's register and move fail), and inside
 * bpf's attributes (a map element's key and value) and PROCMAP_QUERY's
 * structure (the name buffer); tern must
 * survive all of them. Prints "hidden N" and one line per probe that did not
 * fail as expected, then "alive".
 *
 * With "features": calls refused as by a kernel without the feature, and
 * what tern refuses although the kernel allows it (a userfaultfd range of
 * code, seccomp's listener); prints each call's errno name. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/userfaultfd.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static char self_maps[1 << 18], child_maps[1 << 18];

static void slurp(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY);
  size_t got = 0;
  ssize_t n;
  while (fd >= 0 && got < size - 1 && (n = read(fd, buf + got, size - 1 - got)) > 0)
    got += n;
  buf[got] = 0;
  close(fd);
}

/* Whether a line with this exact range is in maps. */
static int listed(const char *maps, const char *range) {
  size_t len = strlen(range);
  for (const char *l = maps; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l))
    if (strncmp(l, range, len) == 0 && l[len] == ' ')
      return 1;
  return 0;
}

/* True if a range of `maps` overlaps [at, at + len): the kernel merges a
 * guest mapping with an adjacent one of tern's into one host range (the
 * guest's TLS block right after tern's C library's bss), of which the
 * guest's part is its own memory. */
static int overlaps(const char *maps, uintptr_t at, uintptr_t len) {
  for (const char *l = maps; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l)) {
    unsigned long start, end;
    if (sscanf(l, "%lx-%lx", &start, &end) == 2 && start < at + len && at < end)
      return 1;
  }
  return 0;
}

static int bad;

static void expect(const char *what, uintptr_t at, long r, int want) {
  if (r != -1 || errno != want) {
    printf("%s at %#lx: %ld %s\n", what, (unsigned long)at, r, r == -1 ? strerrorname_np(errno) : "");
    bad++;
  }
}

static int uffd = -1;

static long uffd_register(int fd, uintptr_t at, long len) {
  struct uffdio_register r = {.range = {.start = at, .len = len}, .mode = UFFDIO_REGISTER_MODE_MISSING};
  return ioctl(fd, UFFDIO_REGISTER, &r);
}

/* A userfaultfd, its API handshake done (-1 if the host refuses it). */
static int new_uffd(void) {
  int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
  struct uffdio_api api = {.api = UFFD_API};
  if (fd >= 0 && ioctl(fd, UFFDIO_API, &api) != 0) {
    close(fd);
    fd = -1;
  }
  return fd;
}

/* The guest's /proc/self/maps. */
static int maps_fd = -1;

/* An array map (4-byte keys, 8-byte values), -1 if the host refuses bpf. */
static int bpf_map = -1;

static long bpf_elem(int cmd, uintptr_t key, uintptr_t value) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_fd = bpf_map;
  a.key = key;
  a.value = value;
  return syscall(SYS_bpf, cmd, &a, sizeof(a));
}

/* A regular file, and an epoll instance with an event ready. */
static int regular = -1, ready_epoll = -1;

/* A semaphore set (-1 if the host refuses System V IPC). */
static int sem = -1;

static void probe(uintptr_t p, int zero, int pipe_w) {
  if (sem >= 0) {
    /* semctl(SETVAL) takes a union semun by value: only its low half is
     * the value, the rest is whatever the caller's stack held, here the
     * upper half of a hidden address. Not a pointer: must succeed. */
    long r = syscall(SYS_semctl, sem, 0, 16 /* SETVAL */, (p & ~0xffffffffUL) | 1);
    if (r != 0) {
      printf("semctl SETVAL with %#lx: %ld %s\n", (unsigned long)p, r, strerrorname_np(errno));
      bad++;
    }
  }
  char *ptr = (char *)p;
  struct iovec iov = {ptr, 16};
  unsigned long range[2] = {0, 0};
  struct timespec now = {0, 0};
  expect("cachestat", p, syscall(451 /* SYS_cachestat */, regular, range, ptr, 0), EFAULT);
  expect("epoll_pwait2 events", p, syscall(441 /* SYS_epoll_pwait2 */, ready_epoll, ptr, 1, &now, NULL, 8), EFAULT);
  expect("signalfd set", p, syscall(SYS_signalfd4, -1, ptr, 8, 0), EFAULT);
  expect("rt_tgsigqueueinfo info", p, syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), SIGUSR2, ptr), EFAULT);
  expect("read", p, read(zero, ptr, 16), EFAULT);
  expect("write", p, write(pipe_w, ptr, 16), EFAULT);
  expect("readv", p, readv(zero, &iov, 1), EFAULT);
  expect("newfstatat", p, syscall(SYS_newfstatat, AT_FDCWD, "/", ptr, 0), EFAULT);
  expect("stat path", p, syscall(SYS_newfstatat, AT_FDCWD, ptr, NULL, 0), EFAULT);
  expect("clock_gettime", p, syscall(SYS_clock_gettime, 1, ptr), EFAULT);
  expect("getcwd", p, syscall(SYS_getcwd, ptr, 64), EFAULT);
  expect("pipe", p, syscall(SYS_pipe2, ptr, 0), EFAULT);
  expect("shmctl", p, syscall(SYS_shmctl, 0, 2 /* IPC_STAT */, ptr), EFAULT);
  if (maps_fd >= 0) {
    /* struct procmap_query: size, flags, addr, ..., name size at 80, name at 88. */
    uint64_t q[13] = {sizeof(q), 0x10 /* COVERING_OR_NEXT_VMA */};
    q[10] = 4096;
    q[11] = p;
    expect("PROCMAP_QUERY name", p, ioctl(maps_fd, 0xc0686611, q), EFAULT);
  }
  expect("process_madvise vector", p, syscall(SYS_process_madvise, -1, ptr, 1, MADV_COLD, 0), EFAULT);
  expect("getxattrat args", p, syscall(464, AT_FDCWD, "/", 0, "user.tern", ptr, 16), EFAULT);
  expect("bpf attributes", p, syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM, ptr, 32), EFAULT);
  if (bpf_map >= 0) {
    static uint32_t key;
    static uint64_t value;
    expect("bpf lookup value", p, bpf_elem(BPF_MAP_LOOKUP_ELEM, (uintptr_t)&key, p), EFAULT);
    expect("bpf update key", p, bpf_elem(BPF_MAP_UPDATE_ELEM, p, (uintptr_t)&value), EFAULT);
  }
  uintptr_t page = p & ~(uintptr_t)4095;
  expect("madvise", page, syscall(SYS_madvise, page, 4096, MADV_DONTNEED), ENOMEM);
  expect("mlock", page, syscall(SYS_mlock, page, 4096), ENOMEM);
  expect("mprotect", page, syscall(SYS_mprotect, page, 4096, PROT_NONE), ENOMEM);
  /* Unmapping a hole succeeds; tern's page stays (its probes go on). */
  if (syscall(SYS_munmap, page, 4096) != 0) {
    printf("munmap at %#lx: %s\n", (unsigned long)page, strerrorname_np(errno));
    bad++;
  }
  if (uffd >= 0) {
    static char dst[8192] __attribute__((aligned(4096)));
    /* struct uffdio_move (Linux 6.8): dst, src, len, mode, move. */
    uint64_t move[5] = {(uintptr_t)dst, page, 4096, 0, 0};
    expect("userfaultfd register", page, uffd_register(uffd, page, 4096), EINVAL);
    expect("userfaultfd move", page, ioctl(uffd, 0xc028aa05 /* UFFDIO_MOVE */, move), ENOENT);
  }
}

static void features(void) {
  long r;
#define SHOW(name, call) \
  r = (call);            \
  printf("%s %ld %s\n", name, r, r == -1 ? strerrorname_np(errno) : "")
  /* Allowed natively: a registered range of anonymous code. */
  int fd = new_uffd();
  void *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  SHOW("userfaultfd register code", fd < 0 ? -2 : uffd_register(fd, (uintptr_t)code, 4096));
  /* Allowed natively: seccomp's user-notification listener. */
  unsigned short sizes[3];
  SHOW("seccomp SECCOMP_GET_NOTIF_SIZES", syscall(SYS_seccomp, 3, 0, sizes));
  struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  struct sock_fprog prog = {.len = 1, .filter = &allow};
  SHOW("seccomp SECCOMP_FILTER_FLAG_NEW_LISTENER",
       syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog));
  SHOW("ptrace PTRACE_TRACEME", ptrace(PTRACE_TRACEME, 0, NULL, NULL));
  SHOW("map_shadow_stack", syscall(453 /* SYS_map_shadow_stack */, 0, 4096, 0));
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  /* A probe the kernel let through would queue it (reading tern's memory
   * as its siginfo): ignored, so that the probe's line says so. */
  signal(SIGUSR2, SIG_IGN);
  if (argc > 1 && strcmp(argv[1], "features") == 0) {
    features();
    return 0;
  }
  /* A child reads this process's maps as the host shows them to anyone
   * else (/proc/PID/maps of another process is not the guest's own view
   * under tern), while this process waits for them: its layout cannot
   * change meanwhile, which the child's own layout after a fork could. */
  int link[2];
  if (pipe(link))
    return 1;
  pid_t parent = getpid(), child = fork();
  if (child == 0) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)parent);
    slurp(path, child_maps, sizeof child_maps);
    size_t len = strlen(child_maps), done = 0;
    while (done < len) {
      ssize_t n = write(link[1], child_maps + done, len - done);
      if (n <= 0)
        _exit(1);
      done += n;
    }
    _exit(0);
  }
  close(link[1]);
  size_t got = 0;
  ssize_t n;
  while (got < sizeof child_maps - 1 && (n = read(link[0], child_maps + got, sizeof child_maps - 1 - got)) > 0)
    got += n;
  child_maps[got] = 0;
  waitpid(child, NULL, 0);
  slurp("/proc/self/maps", self_maps, sizeof self_maps);
  int zero = open("/dev/zero", O_RDONLY);
  sem = syscall(SYS_semget, 0 /* IPC_PRIVATE */, 1, 0600);
  regular = open(argv[0], O_RDONLY);
  ready_epoll = epoll_create1(0);
  int ready = eventfd(1, 0);
  struct epoll_event ev = {.events = EPOLLIN};
  epoll_ctl(ready_epoll, EPOLL_CTL_ADD, ready, &ev);
  uffd = new_uffd();
  maps_fd = open("/proc/self/maps", O_RDONLY);
  union bpf_attr create = {.map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 1};
  bpf_map = syscall(SYS_bpf, BPF_MAP_CREATE, &create, sizeof(create));
  int out[2];
  if (pipe(out))
    return 1;
  uintptr_t sp = (uintptr_t)&child;
  int hidden = 0;
  for (char *l = child_maps; *l;) {
    char *nl = strchr(l, '\n');
    if (nl)
      *nl = 0;
    char range[64];
    unsigned long start, end;
    if (sscanf(l, "%63s", range) == 1 && sscanf(range, "%lx-%lx", &start, &end) == 2 &&
        !listed(self_maps, range) && !strstr(l, "[vsyscall]") && !(start <= sp && sp < end)) {
      hidden++;
      if (!overlaps(self_maps, start, 16))
        probe(start, zero, out[1]);
      if (!overlaps(self_maps, end - 16, 16))
        probe(end - 16, zero, out[1]);
    }
    l = nl ? nl + 1 : l + strlen(l);
  }

  if (sem >= 0)
    syscall(SYS_semctl, sem, 0, 0 /* IPC_RMID */, 0);
  printf("hidden %d\nbad probes %d\nalive\n", hidden, bad);
  return 0;
}
