/* dir_list.c - directory operations: mkdir, opendir/readdir (sorted, since
 * the kernel's order is arbitrary), scandir, chdir/getcwd, fstatat,
 * rmdir, and their error codes. The directory is created by the program
 * in /tmp and removed at the end. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list(const char *label, const char *dir) {
  DIR *d = opendir(dir);
  if (!d) {
    printf("%s: opendir failed: %s\n", label, strerror(errno));
    return;
  }
  char *names[256];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 256) {
    char kind = e->d_type == DT_DIR ? 'd' : e->d_type == DT_REG ? 'f' : e->d_type == DT_LNK ? 'l' : '?';
    names[n] = malloc(strlen(e->d_name) + 3);
    sprintf(names[n], "%c %s", kind, e->d_name);
    n++;
  }
  rewinddir(d);
  int again = 0;
  while (readdir(d))
    again++;
  closedir(d);
  qsort(names, (size_t)n, sizeof names[0], cmp_str);
  printf("%s: %d entries (again after rewinddir: %d)\n", label, n, again);
  for (int i = 0; i < n; i++) {
    printf("  %s\n", names[i]);
    free(names[i]);
  }
}

static int not_dot(const struct dirent *e) { return e->d_name[0] != '.'; }

int main(void) {
  char dir[] = "/tmp/tern-dirlist-XXXXXX";
  if (!mkdtemp(dir))
    return 1;
  char path[512];
  for (int i = 0; i < 40; i++) {
    snprintf(path, sizeof path, "%s/file-%02d%s", dir, (i * 17) % 40, i % 3 ? ".txt" : "");
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    if (fd < 0 || write(fd, path, (size_t)i) != i)
      return 1;
    close(fd);
  }
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/sub%d", dir, i);
    mkdir(path, 0755);
  }
  snprintf(path, sizeof path, "%s/sub1/nested.txt", dir);
  close(open(path, O_CREAT | O_WRONLY, 0600));
  snprintf(path, sizeof path, "%s/link-to-sub0", dir);
  printf("symlink: %d\n", symlink("sub0", path));
  char target[64] = {0};
  ssize_t len = readlink(path, target, sizeof target - 1);
  printf("readlink: %zd %s\n", len, target);

  list("top", dir);
  snprintf(path, sizeof path, "%s/sub1", dir);
  list("sub1", path);

  struct dirent **entries;
  int n = scandir(dir, &entries, not_dot, alphasort);
  printf("scandir without dot files: %d, first %s, last %s\n", n, entries[0]->d_name,
         entries[n - 1]->d_name);
  for (int i = 0; i < n; i++)
    free(entries[i]);
  free(entries);

  char cwd[512], here[1024];
  if (!getcwd(cwd, sizeof cwd) || chdir(dir) != 0 || !getcwd(here, sizeof here))
    return 1;
  printf("getcwd after chdir matches: %d\n", strcmp(here, dir) == 0);
  struct stat st;
  int r = stat("file-05.txt", &st);
  printf("relative stat file-05.txt: %d size %lld\n", r, (long long)st.st_size);
  int dfd = open(".", O_RDONLY | O_DIRECTORY);
  printf("fstatat sub2 is dir: %d\n", fstatat(dfd, "sub2", &st, 0) == 0 && S_ISDIR(st.st_mode));
  printf("fstatat link nofollow is link: %d\n",
         fstatat(dfd, "link-to-sub0", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode));
  r = mkdir("sub0", 0755);
  printf("mkdir existing: %d (%s)\n", r, strerror(errno));
  r = rmdir("sub1");
  printf("rmdir non-empty: %d (%s)\n", r, strerror(errno));
  DIR *not_dir = opendir("file-00");
  printf("opendir on file: %d (%s)\n", not_dir != NULL, strerror(errno));

  /* clean up */
  unlink("sub1/nested.txt");
  unlink("link-to-sub0");
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "sub%d", i);
    rmdir(path);
  }
  DIR *d = opendir(".");
  struct dirent *e;
  int removed = 0;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.')
      removed += unlinkat(dfd, e->d_name, 0) == 0;
  closedir(d);
  close(dfd);
  if (chdir(cwd) != 0)
    return 1;
  r = rmdir(dir);
  printf("removed %d files, rmdir %d\n", removed, r);
  return 0;
}
