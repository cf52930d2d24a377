/* syscall_kernel_writes.c - the kernel writes into pages holding code that
 * has already run (tern write-protects those to catch self-modifying code):
 * the status and rusage of wait4/waitpid (a call that must not be run twice:
 * the child is reaped once), readv and recvmsg of new code, fstat and
 * clock_gettime. Also address-space calls tern's map must see: madvise that
 * drops a private copy of file-backed code, pkey_mprotect, /dev/zero,
 * remap_file_pages, System V shared
 * memory attached, used, run and detached; and pointers to unmapped memory,
 * which give EFAULT. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef int (*fn_t)(void);

/* mov eax, imm32 ; ret */
static void make(unsigned char *p, int v) {
  p[0] = 0xb8;
  memcpy(p + 1, &v, 4);
  p[5] = 0xc3;
}

static int run(void *p) { return ((fn_t)p)(); }

static const char *err(long r) { return r < 0 ? strerror(errno) : "ok"; }

/* A writable page with code that has run. */
static unsigned char *code_page(int v) {
  unsigned char *page =
      mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED)
    exit(1);
  make(page, v);
  printf("code %d\n", run(page));
  return page;
}

static void waits(void) {
  unsigned char *page = code_page(1);
  int *status = (int *)(page + 2048);
  pid_t pid = fork();
  if (pid == 0)
    _exit(7);
  pid_t r = waitpid(pid, status, 0);
  printf("waitpid %s status %d\n", r == pid ? "reaped" : strerror(errno), WEXITSTATUS(*status));
  printf("code still %d\n", run(page));
  pid = fork();
  if (pid == 0)
    _exit(9);
  struct rusage *ru = (struct rusage *)(page + 1024);
  ru->ru_maxrss = -1;
  r = wait4(pid, status, 0, ru);
  printf("wait4 %s status %d rusage %s\n", r == pid ? "reaped" : strerror(errno), WEXITSTATUS(*status),
         ru->ru_maxrss >= 0 ? "filled" : "untouched");
  siginfo_t *si = (siginfo_t *)(page + 256);
  pid = fork();
  if (pid == 0)
    _exit(11);
  int w = waitid(P_PID, pid, si, WEXITED);
  printf("waitid %s status %d\n", err(w), si->si_status);
  r = waitpid(-1, status, WNOHANG);
  printf("no child left %d %s\n", (int)r, err(r));
  printf("code still %d\n", run(page));
  munmap(page, 4096);
}

static void vectored(void) {
  unsigned char *page = code_page(2);
  unsigned char code[6];
  int p[2];
  if (pipe(p))
    exit(1);
  make(code, 3);
  if (write(p[1], code, 6) != 6)
    exit(1);
  struct iovec iov[2] = {{page, 3}, {page + 3, 3}};
  printf("readv %zd\n", readv(p[0], iov, 2));
  printf("code now %d\n", run(page));
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
    exit(1);
  make(code, 4);
  if (write(sv[0], code, 6) != 6)
    exit(1);
  struct iovec v = {page, 6};
  struct msghdr m = {0};
  m.msg_iov = &v;
  m.msg_iovlen = 1;
  printf("recvmsg %zd\n", recvmsg(sv[1], &m, 0));
  printf("code now %d\n", run(page));
  struct stat *st = (struct stat *)(page + 1024);
  int f = fstat(p[0], st);
  printf("fstat %s fifo %d\n", err(f), S_ISFIFO(st->st_mode));
  long c = syscall(SYS_clock_gettime, CLOCK_MONOTONIC, page + 2048);
  printf("clock_gettime %s\n", err(c));
  printf("code still %d\n", run(page));
  close(p[0]);
  close(p[1]);
  close(sv[0]);
  close(sv[1]);
  munmap(page, 4096);
}

/* A private mapping of a file holding code: the private copy made by a
 * write is dropped by MADV_DONTNEED, and the file's code runs again. */
static void advice(void) {
  char path[] = "/tmp/tern-madv-XXXXXX";
  int fd = mkstemp(path);
  static unsigned char buf[4096];
  make(buf, 5);
  if (write(fd, buf, sizeof buf) != sizeof buf)
    exit(1);
  unsigned char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE, fd, 0);
  if (page == MAP_FAILED)
    exit(1);
  printf("file code %d\n", run(page));
  make(page, 6);
  printf("private code %d\n", run(page));
  printf("madvise %s\n", err(madvise(page, 4096, MADV_DONTNEED)));
  printf("file code again %d\n", run(page));
  long r = syscall(SYS_pkey_mprotect, page, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, -1);
  printf("pkey_mprotect %s\n", err(r));
  make(page, 7);
  printf("code after pkey_mprotect %d\n", run(page));
  munmap(page, 4096);
  close(fd);
  unlink(path);
}

/* /dev/zero mapped privately holds code like anonymous memory; a shared
 * file mapping whose pages remap_file_pages rearranges runs the code of
 * the page now shown. */
static void remaps(void) {
  int zero = open("/dev/zero", O_RDWR);
  unsigned char *z = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE, zero, 0);
  make(z, 12);
  printf("/dev/zero code %d\n", run(z));
  make(z, 13);
  printf("/dev/zero code %d\n", run(z));
  munmap(z, 4096);
  close(zero);
  char path[] = "/tmp/tern-remap-XXXXXX";
  int fd = mkstemp(path);
  static unsigned char two[8192];
  make(two, 14);
  make(two + 4096, 15);
  if (write(fd, two, sizeof two) != sizeof two)
    exit(1);
  unsigned char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_SHARED, fd, 0);
  printf("page 0 code %d\n", run(m));
  long r = syscall(SYS_remap_file_pages, m, 4096, 0, 1, 0);
  printf("remap_file_pages %s\n", err(r));
  printf("page 0 code %d\n", run(m));
  munmap(m, 8192);
  close(fd);
  unlink(path);
}

static void shm(void) {
  int id = shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0600);
  if (id < 0) {
    printf("shmget %s\n", strerror(errno));
    return;
  }
  char *a = shmat(id, NULL, 0);
  char *b = shmat(id, NULL, SHM_RDONLY);
  strcpy(a, "shared");
  printf("shm %s %s\n", b, a == b ? "one mapping" : "two mappings");
  printf("shmdt %d %d\n", shmdt(a), shmdt(b));
  int r = shmdt(a);
  printf("shmdt again %d %s\n", r, err(r));
  char *want = mmap(NULL, 4 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(want, 4 * 4096);
  char *c = shmat(id, want + 100, SHM_RND);
  printf("shmat SHM_RND %s\n", c == want ? "at the rounded address" : "elsewhere");
  c[8191] = 1;
  printf("shmdt %d\n", shmdt(c));
  unsigned char *x = shmat(id, NULL, SHM_EXEC);
  make(x, 8);
  printf("shm code %d\n", run(x));
  make(x, 9);
  printf("shm code %d\n", run(x));
  printf("shmdt %d\n", shmdt(x));
  shmctl(id, IPC_RMID, NULL);
}

static void unmapped(void) {
  char *hole = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(hole, 4096);
  int fd = open("/dev/zero", O_RDONLY);
  ssize_t n = read(fd, hole, 16);
  printf("read %zd %s\n", n, err(n));
  int p[2];
  if (pipe(p))
    exit(1);
  n = write(p[1], hole, 16);
  printf("write %zd %s\n", n, err(n));
  long r = syscall(SYS_newfstatat, AT_FDCWD, "/", hole, 0);
  printf("stat %ld %s\n", r, err(r));
  r = syscall(SYS_wait4, -1, hole, WNOHANG, 0);
  printf("wait4 %ld %s\n", r, err(r));
  close(fd);
  close(p[0]);
  close(p[1]);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  waits();
  vectored();
  advice();
  remaps();
  shm();
  unmapped();
  return 0;
}
