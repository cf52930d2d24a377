/* smc_syscall.c - the kernel writes code: read() and pread() into a page
 * that holds code which has already run, then the new code runs. Under tern
 * that page is write-protected for self-modifying-code detection, so the
 * kernel's write must still land. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef int (*fn_t)(void);

/* mov eax, imm32 ; ret */
static void make(unsigned char *p, int v) {
  p[0] = 0xb8;
  memcpy(p + 1, &v, 4);
  p[5] = 0xc3;
}

int main(void) {
  unsigned char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED)
    return 1;
  make(page, 11);
  printf("first %d\n", ((fn_t)page)());

  char path[] = "/tmp/tern-smc-XXXXXX";
  int fd = mkstemp(path);
  unsigned char code[6];
  make(code, 22);
  write(fd, code, sizeof code);
  make(code, 33);
  write(fd, code, sizeof code);
  lseek(fd, 0, SEEK_SET);
  printf("read %zd\n", read(fd, page, 6));
  printf("second %d\n", ((fn_t)page)());
  printf("pread %zd\n", pread(fd, page, 6, 6));
  printf("third %d\n", ((fn_t)page)());

  int p[2];
  pipe(p);
  make(code, 44);
  write(p[1], code, sizeof code);
  printf("pipe read %zd\n", read(p[0], page + 64, 6));
  printf("fourth %d\n", ((fn_t)(page + 64))());
  close(fd);
  unlink(path);
  return 0;
}
