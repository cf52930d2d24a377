/* file_io.c - file input/output through stdio and raw system calls.
 *
 * A temporary file is written with stdio (fprintf, fwrite, fputc), read
 * back with read/lseek/pread, rewritten with pwrite/writev/O_APPEND,
 * truncated, stat'ed, renamed, linked and unlinked. Error paths report
 * strerror text (LANG=C keeps it stable). File names are never printed as
 * they contain random characters. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "prng.h"

#define LINE 24

static void show_stat(const char *label, const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) {
    printf("%s: stat failed: %s\n", label, strerror(errno));
    return;
  }
  printf("%s: size %lld regular %d mode %03o links %lu blocks>0 %d\n", label, (long long)st.st_size,
         S_ISREG(st.st_mode), st.st_mode & 0777, (unsigned long)st.st_nlink, st.st_blocks > 0);
}

int main(void) {
  char dir[] = "/tmp/tern-fileio-XXXXXX";
  if (!mkdtemp(dir))
    return 1;
  char path[256], path2[256], path3[256];
  snprintf(path, sizeof path, "%s/data.txt", dir);
  snprintf(path2, sizeof path2, "%s/renamed.txt", dir);
  snprintf(path3, sizeof path3, "%s/hardlink.txt", dir);

  /* stdio writing */
  FILE *f = fopen(path, "w");
  if (!f)
    return 1;
  for (int i = 0; i < 1000; i++)
    fprintf(f, "line %04d value %+07d\n", i, i * i - 500); /* LINE bytes each */
  static unsigned char blob[70000];
  prng_seed(5);
  for (size_t i = 0; i < sizeof blob; i++)
    blob[i] = (unsigned char)rnd64();
  fwrite(blob, 1, sizeof blob, f);
  fputc('Z', f);
  printf("ftell after writes: %ld\n", ftell(f));
  fclose(f);
  chmod(path, 0640);
  show_stat("after stdio write", path);

  /* stdio reading */
  f = fopen(path, "r");
  char line[128];
  long sum = 0;
  int lines = 0;
  while (lines < 1000 && fgets(line, sizeof line, f)) {
    int n, v;
    if (sscanf(line, "line %d value %d", &n, &v) == 2)
      sum += v;
    lines++;
  }
  static unsigned char back[70000];
  size_t got = fread(back, 1, sizeof back, f);
  int c = fgetc(f);
  printf("read %d lines, sum %ld, blob %zu bytes equal %d, last char %c, eof %d\n", lines, sum, got,
         memcmp(back, blob, sizeof blob) == 0, c, fgetc(f) == EOF && feof(f));
  fseek(f, -3, SEEK_END);
  printf("fseek(-3, END) then ftell: %ld\n", ftell(f));
  fclose(f);

  /* raw system calls */
  int fd = open(path, O_RDWR);
  char buf[64];
  ssize_t n = read(fd, buf, 20);
  printf("read %zd: %.19s\n", n, buf);
  long cur = (long)lseek(fd, 0, SEEK_CUR);
  long end = (long)lseek(fd, 0, SEEK_END);
  long set = (long)lseek(fd, LINE, SEEK_SET);
  printf("lseek cur %ld end %ld set %ld\n", cur, end, set);
  n = read(fd, buf, LINE - 1);
  printf("after lseek(LINE): %.*s\n", LINE - 1, buf);
  n = pread(fd, buf, LINE - 1, LINE * 500);
  printf("pread at line 500: %.*s, offset unchanged %ld\n", LINE - 1, buf, (long)lseek(fd, 0, SEEK_CUR));
  if (pwrite(fd, "LINE", 4, LINE * 2) != 4)
    return 1;
  struct iovec iov[3] = {{"<<", 2}, {"vectored", 8}, {">>", 2}};
  lseek(fd, LINE * 3, SEEK_SET);
  printf("writev wrote %zd\n", writev(fd, iov, 3));
  lseek(fd, 0, SEEK_SET);
  char first[100] = {0};
  char part1[30] = {0}, part2[70] = {0};
  struct iovec riov[2] = {{part1, 29}, {part2, 67}};
  n = readv(fd, riov, 2);
  memcpy(first, part1, 29);
  memcpy(first + 29, part2, 67);
  for (int i = 0; i < 96; i++)
    if (first[i] == '\n')
      first[i] = '|';
  printf("readv %zd: %s\n", n, first);
  lseek(fd, 0, SEEK_END);
  printf("read at EOF: %zd\n", read(fd, buf, 10));
  printf("ftruncate: %d\n", ftruncate(fd, 100));
  struct stat st;
  fstat(fd, &st);
  printf("fstat after truncate: size %lld\n", (long long)st.st_size);
  int fd2 = dup(fd);
  lseek(fd, 10, SEEK_SET);
  printf("dup shares offset: %ld, cloexec %d\n", (long)lseek(fd2, 0, SEEK_CUR),
         fcntl(fd2, F_GETFD) & FD_CLOEXEC);
  close(fd2);
  close(fd);

  fd = open(path, O_WRONLY | O_APPEND);
  lseek(fd, 0, SEEK_SET);
  if (write(fd, "appended\n", 9) != 9)
    return 1;
  close(fd);
  show_stat("after append", path);

  int r = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
  printf("O_EXCL on existing: %d (%s)\n", r, strerror(errno));
  r = open("/nonexistent/tern/file", O_RDONLY);
  printf("open missing: %d (%s)\n", r, strerror(errno));
  n = read(12345, buf, 1);
  printf("read from bad fd: %zd (%s)\n", n, strerror(errno));

  printf("link: %d\n", link(path, path3));
  show_stat("with hard link", path);
  printf("rename: %d\n", rename(path, path2));
  show_stat("old name", path);
  show_stat("new name", path2);
  int readable = access(path2, R_OK);
  printf("access R_OK %d X_OK %d\n", readable, access(path2, X_OK));
  int unlinked = unlink(path2);
  printf("unlink: %d %d\n", unlinked, unlink(path3));
  show_stat("after unlink", path3);
  printf("rmdir: %d\n", rmdir(dir));
  return 0;
}
