/* exec_table.c - execve of crafted scripts and files, by the kernel's rules.
 *
 * Creates a scratch directory of `#!` scripts and other files, then execve's
 * each from a forked child and prints either the errno the call failed with
 * or what the program it started sees: argv, /proc/self/cmdline and the
 * environment's X= entries, byte for byte in hex. The program started is
 * this one again (as the scripts' interpreter), in "print mode".
 *
 * Covered (fs/binfmt_script.c load_script(), fs/exec.c): the execute bit
 * on the script, on the interpreter and on an ELF file; directories; files
 * of no known format; the interpreter as the first word and the rest of the
 * line (trimmed) as one optional argument; spaces, tabs, NUL and CR in the
 * line; lines cut at 256 bytes (BINPRM_BUF_SIZE) and truncated interpreter
 * names; nested interpreters up to and past the recursion limit; missing
 * and empty interpreters; non-UTF-8 bytes in arguments, environment, the
 * interpreter's path and its argument; an empty argv; relative paths (no
 * PATH search). Finally a few failing execve calls are made by this process
 * itself, which must keep running. Before all that, the program re-executes
 * itself with a fixed environment and shows its own /proc/self/cmdline and
 * environ, edited in place as setproctitle(3) does. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char self[PATH_MAX];

static void hex(const char *label, const char *s, size_t n) {
  printf("  %s=", label);
  for (size_t i = 0; i < n; i++)
    printf("%02x", (unsigned char)s[i]);
  printf(" \"");
  for (size_t i = 0; i < n; i++)
    putchar(s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '.');
  printf("\"\n");
}

/* Print mode: what the started program sees. */
static int print_self(int argc, char **argv) {
  printf("  argc=%d\n", argc);
  for (int i = 0; i < argc; i++)
    hex("argv", argv[i], strlen(argv[i]));
  char buf[8192];
  int fd = open("/proc/self/cmdline", O_RDONLY);
  ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
  if (n >= 0)
    hex("cmdline", buf, (size_t)n);
  for (char **e = environ; *e; e++)
    if (strncmp(*e, "X", 1) == 0)
      hex("env", *e, strlen(*e));
  const char *execfn = (const char *)getauxval(AT_EXECFN);
  if (execfn)
    hex("execfn", execfn, strlen(execfn));
  const char *base = strrchr(self, '/');
  printf("  exe=%s\n", base ? base + 1 : self);
  return 0;
}

static void show_file(const char *label, const char *file) {
  char buf[8192];
  int fd = open(file, O_RDONLY);
  ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
  if (fd >= 0)
    close(fd);
  if (n >= 0)
    hex(label, buf, (size_t)n);
  else
    printf("  %s: errno %d\n", label, errno);
}

/* /proc/self/cmdline and environ are read from the process's memory when
 * opened: edits show, and a cmdline whose final NUL was overwritten
 * (setproctitle) runs on into the environment up to a NUL. */
static void proc_self_strings(int argc, char **argv) {
  printf("proc-self-strings:\n");
  show_file("cmdline", "/proc/self/cmdline");
  show_file("environ", "/proc/self/environ");
  argv[0][0] = 'Q';
  show_file("cmdline-edited", "/proc/self/cmdline");
  char *end = argv[argc - 1] + strlen(argv[argc - 1]);
  *end = 'Z';
  show_file("cmdline-setproctitle", "/proc/self/cmdline");
  *end = 0;
  char first = environ[0][0];
  environ[0][0] = '#';
  show_file("environ-edited", "/proc/self/environ");
  environ[0][0] = first;
}

static void put(const char *name, const char *data, size_t len, mode_t mode) {
  unlink(name);
  int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd) != 0) {
    perror(name);
    exit(2);
  }
  chmod(name, mode);
}

static void put_str(const char *name, const char *data, mode_t mode) {
  put(name, data, strlen(data), mode);
}

/* A script whose line is "#!" + before + interp + after + "\n". */
static void script(const char *name, const char *before, const char *interp, const char *after) {
  char buf[2048];
  int n = snprintf(buf, sizeof buf, "#!%s%s%s\necho not reached\n", before, interp, after);
  put(name, buf, (size_t)n, 0755);
}

/* `self` padded with leading slashes to exactly `len` bytes. */
static const char *padded_self(size_t len) {
  static char buf[1024];
  size_t s = strlen(self);
  if (len < s || len >= sizeof buf)
    abort();
  memset(buf, '/', len - s);
  memcpy(buf + len - s, self, s + 1);
  return buf;
}

static char *env_print[] = {"TERN_EXEC_TABLE_PRINT=1", "X_PLAIN=1", "X\xfe=\xff\x80", "X_NOEQ", NULL};

static void report_errno(int e) {
  const char *name = strerrorname_np(e);
  printf("  errno=%s\n", name ? name : "?");
}

/* Runs one case in a child and prints its outcome. */
static void run(const char *title, const char *path, char *const argv[]) {
  printf("%s:\n", title);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    execve(path, argv, env_print);
    report_errno(errno);
    fflush(stdout);
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    printf("  child status %#x\n", st);
}

#define ARGV(...) ((char *const[]){__VA_ARGS__, NULL})

int main(int argc, char **argv) {
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0)
    return 2;
  self[n] = 0;
  if (getenv("TERN_EXEC_TABLE_PRINT"))
    return print_self(argc, argv);

  /* A fixed environment first (the harness's may vary), so that the
   * /proc/self strings this prints do not depend on it. */
  if (!getenv("TERN_EXEC_TABLE_FIXED_ENV")) {
    char *fixed[] = {"TERN_EXEC_TABLE_FIXED_ENV=1", "X_FIXED=\xfe", NULL};
    execve(self, argv, fixed);
    report_errno(errno);
    return 2;
  }
  proc_self_strings(argc, argv);
  char dir[] = "/tmp/tern-exec-table-XXXXXX";
  if (!mkdtemp(dir) || chdir(dir) != 0) {
    perror("scratch directory");
    return 2;
  }
  setvbuf(stdout, NULL, _IOFBF, 1 << 16);

  /* Plain ELF, then scripts with and without an argument. */
  run("elf", self, ARGV("elf", "a b", "\tc\t"));
  run("elf-non-utf8-args", self, ARGV("\xff\xfe", "\x80", "", "-x"));
  run("elf-empty-argv", self, (char *const[]){NULL});
  run("elf-dash-argv0", self, ARGV("-sh", "--", "-0"));
  script("plain", "", self, "");
  run("script-plain", "./plain", ARGV("ignored", "one", "two words"));
  script("arg", "", self, "  -x  y  ");
  run("script-one-arg-with-spaces", "./arg", ARGV("ignored", "z"));
  script("tabs", "\t \t", self, "\t\targ\twith\ttabs\t \t");
  run("script-tabs", "./tabs", ARGV("ignored"));
  script("binarg", "", self, " \xff\xc0 \x80");
  run("script-non-utf8-arg", "./binarg", ARGV("\xfe", "\xff"));
  {
    char buf[512];
    int k = snprintf(buf, sizeof buf, "#!%s", self);
    memcpy(buf + k, "\0 hidden\n", 9);
    put("nul", buf, (size_t)k + 9, 0755);
  }
  run("script-nul-ends-the-name", "./nul", ARGV("nul"));
  {
    char buf[512];
    int k = snprintf(buf, sizeof buf, "#!%s a", self);
    memcpy(buf + k, "\0b\n", 3);
    put("nularg", buf, (size_t)k + 3, 0755);
  }
  run("script-nul-in-arg", "./nularg", ARGV("nularg"));
  {
    char buf[512];
    int k = snprintf(buf, sizeof buf, "#!%s", self);
    put("noeol", buf, (size_t)k, 0755);
  }
  run("script-without-newline", "./noeol", ARGV("noeol", "x"));
  {
    /* A blank, then the end of the file: an empty argument. */
    char buf[512];
    int k = snprintf(buf, sizeof buf, "#!%s ", self);
    put("noeol-blank", buf, (size_t)k, 0755);
  }
  run("script-blank-then-end-of-file", "./noeol-blank", ARGV("noeol-blank"));
  script("crlf", "", self, "\r");
  run("script-crlf", "./crlf", ARGV("crlf"));
  script("crlfarg", "", self, " -a\r");
  run("script-crlf-arg", "./crlfarg", ARGV("crlfarg"));

  /* The interpreter's path in bytes that are not UTF-8. */
  unlink("interp-\xff");
  if (symlink(self, "interp-\xff") != 0)
    return 2;
  script("binpath", "", "./interp-\xff", " \xfe");
  run("script-non-utf8-interpreter", "./binpath", ARGV("binpath"));
  run("relative-no-path-search", "binpath", ARGV("binpath"));
  script("true", "", self, "");
  run("relative-named-like-a-program-in-path", "true", ARGV("true"));

  /* Lines at and over BINPRM_BUF_SIZE (256 bytes, "#!" included). */
  static const struct {
    const char *title;
    size_t name_len; /* length of the interpreter path */
    const char *after;
  } longs[] = {
      {"line-253-newline-at-255", 253, ""},
      {"line-254-newline-at-256", 254, ""},
      {"name-253-space-at-255", 253, " arg"},
      {"name-254-space-at-256", 254, " arg"},
      {"name-300", 300, ""},
      {"name-250-long-arg", 250, " 0123456789abcdefghij"},
      {"name-200-arg-cut", 200,
       " aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
      {"name-240-tab-then-spaces", 240, "\t                           x"},
  };
  for (size_t i = 0; i < sizeof longs / sizeof longs[0]; i++) {
    script("long", "", padded_self(longs[i].name_len), longs[i].after);
    run(longs[i].title, "./long", ARGV("long"));
  }
  {
    /* Spaces up to the buffer's end: the interpreter name is never found. */
    char buf[400];
    memcpy(buf, "#!", 2);
    memset(buf + 2, ' ', 300);
    memcpy(buf + 302, "/bin/sh\n", 8);
    put("spaces", buf, 310, 0755);
    run("only-spaces-in-the-buffer", "./spaces", ARGV("spaces"));
  }

  /* Nested interpreters: nest-1 is run by this program, nest-k by nest-(k-1). */
  script("nest-1", "", self, " level1");
  for (int k = 2; k <= 8; k++) {
    char name[32], interp[32], arg[32];
    snprintf(name, sizeof name, "nest-%d", k);
    snprintf(interp, sizeof interp, "./nest-%d", k - 1);
    snprintf(arg, sizeof arg, " level%d", k);
    script(name, "", interp, arg);
  }
  for (int k = 1; k <= 8; k++) {
    char name[32], title[32];
    snprintf(name, sizeof name, "./nest-%d", k);
    snprintf(title, sizeof title, "nested-%d", k);
    run(title, name, ARGV("nest", "end"));
  }
  /* Past the limit, but the innermost interpreter is missing. */
  script("deep-1", "", "./no-such-interpreter", "");
  for (int k = 2; k <= 8; k++) {
    char name[32], interp[32];
    snprintf(name, sizeof name, "deep-%d", k);
    snprintf(interp, sizeof interp, "./deep-%d", k - 1);
    script(name, "", interp, "");
  }
  for (int k = 5; k <= 8; k++) {
    char name[32], title[40];
    snprintf(name, sizeof name, "./deep-%d", k);
    snprintf(title, sizeof title, "deep-missing-%d", k);
    run(title, name, ARGV("deep"));
  }

  /* Errors. */
  script("noexec", "", self, "");
  chmod("noexec", 0644);
  run("script-not-executable", "./noexec", ARGV("noexec"));
  put_str("plain-file", "data\n", 0644);
  script("interp-noexec", "", "./plain-file", "");
  run("interpreter-not-executable", "./interp-noexec", ARGV("x"));
  mkdir("a-dir", 0755);
  script("interp-dir", "", "./a-dir", "");
  run("interpreter-is-a-directory", "./interp-dir", ARGV("x"));
  script("interp-missing", "", "/no/such/interpreter", " arg");
  run("interpreter-missing", "./interp-missing", ARGV("x"));
  put_str("interp-text", "just text\n", 0755);
  script("interp-unknown", "", "./interp-text", "");
  run("interpreter-of-no-known-format", "./interp-unknown", ARGV("x"));
  put_str("empty-interp", "#!\nexit 0\n", 0755);
  run("empty-interpreter", "./empty-interp", ARGV("x"));
  put_str("blank-interp", "#!  \t \nexit 0\n", 0755);
  run("blank-interpreter", "./blank-interp", ARGV("x"));
  put_str("just-hashbang", "#!", 0755);
  run("file-is-just-hashbang", "./just-hashbang", ARGV("x"));
  static char elf[4 << 20];
  ssize_t len;
  {
    int in = open(self, O_RDONLY);
    len = in >= 0 ? read(in, elf, sizeof elf) : -1;
    if (len <= 0)
      return 2;
    close(in);
    put("elf-noexec", elf, (size_t)len, 0644);
  }
  run("elf-not-executable", "./elf-noexec", ARGV("x"));
  {
    /* This program (when dynamic) with its PT_INTERP renamed in place to
     * a relative path: missing, not executable, not an ELF file. */
    static const char ld[] = "/lib64/ld-linux-x86-64.so.2";
    static const char alt[] = "./ld-replaced-for-exec-test";
    _Static_assert(sizeof ld == sizeof alt, "same length");
    char *at = memmem(elf, (size_t)len, ld, sizeof ld);
    if (at) {
      memcpy(at, alt, sizeof alt);
      put("elf-alt-interp", elf, (size_t)len, 0755);
      unlink(alt);
      run("elf-interpreter-missing", "./elf-alt-interp", ARGV("x"));
      put(alt, elf, (size_t)len, 0644);
      run("elf-interpreter-not-executable", "./elf-alt-interp", ARGV("x"));
      put_str(alt, "text\n", 0755);
      run("elf-interpreter-not-elf", "./elf-alt-interp", ARGV("x"));
    } else {
      printf("static: no PT_INTERP\n");
    }
  }
  run("directory", "./a-dir", ARGV("x"));
  put_str("text", "hello, I am text\n", 0755);
  run("no-known-format", "./text", ARGV("x"));
  put_str("empty", "", 0755);
  run("empty-file", "./empty", ARGV("x"));
  run("missing", "./no-such-file", ARGV("x"));
  run("not-a-directory", "./text/x", ARGV("x"));
  run("empty-path", "", ARGV("x"));

  script("toolong", "", padded_self(300), "");
  /* Failing calls made by this process itself: it keeps running. */
  printf("in-process:\n");
  const char *fails[] = {"./noexec", "./a-dir", "./text", "./interp-missing", "./deep-8", "./toolong"};
  for (size_t i = 0; i < sizeof fails / sizeof fails[0]; i++) {
    execve(fails[i], ARGV("x"), env_print);
    printf(" %s", fails[i]);
    report_errno(errno);
  }

  /* The file is opened before argv is read: a missing file wins over a
   * bad argv pointer; for a file that exists, the pointer is EFAULT. */
  char *const *volatile bad = (char *const *)8;
  execve("./no-such-file", bad, env_print);
  printf(" missing, bad argv");
  report_errno(errno);
  execve(self, bad, env_print);
  printf(" self, bad argv");
  report_errno(errno);
  execve(self, ARGV("x"), bad);
  printf(" self, bad envp");
  report_errno(errno);

  /* Clean up. */
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  fflush(stdout);
  if (chdir("/") != 0 || system(cmd) != 0)
    return 2;
  printf("done\n");
  return 0;
}
