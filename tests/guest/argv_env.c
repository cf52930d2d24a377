/* argv_env.c - the process's arguments, environment and standard input.
 *
 * Prints argc, every argument (argv[0] only by its last path component),
 * the whole environment sorted (the harness passes a clean, fixed one),
 * a few getenv look-ups, some auxiliary-vector facts that must match the
 * host's, and a summary of standard input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

extern char **environ;

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
  const char *base = strrchr(argv[0], '/');
  printf("argc=%d argv[0] basename=%s\n", argc, base ? base + 1 : argv[0]);
  for (int i = 1; i < argc; i++)
    printf("argv[%d]=\"%s\" (%zu bytes)\n", i, argv[i], strlen(argv[i]));
  printf("argv[argc] is NULL: %d\n", argv[argc] == NULL);

  size_t n = 0;
  while (environ[n])
    n++;
  char **sorted = malloc((n + 1) * sizeof *sorted);
  memcpy(sorted, environ, n * sizeof *sorted);
  qsort(sorted, n, sizeof *sorted, cmp_str);
  printf("environment has %zu entries:\n", n);
  for (size_t i = 0; i < n; i++)
    printf("  %s\n", sorted[i]);
  free(sorted);
  const char *v = getenv("TERN_TEST_VAR");
  printf("getenv(TERN_TEST_VAR)=%s\n", v ? v : "(null)");
  v = getenv("EMPTY_VAR");
  printf("getenv(EMPTY_VAR)=%s\n", v ? (*v ? v : "(empty)") : "(null)");
  v = getenv("NOT_SET_ANYWHERE");
  printf("getenv(NOT_SET_ANYWHERE)=%s\n", v ? v : "(null)");
  setenv("ADDED_AT_RUNTIME", "yes", 1);
  printf("after setenv: %s\n", getenv("ADDED_AT_RUNTIME"));

  printf("AT_PAGESZ=%lu AT_SECURE=%lu AT_UID matches getuid: %d AT_EXECFN basename ok: %d\n",
         getauxval(AT_PAGESZ), getauxval(AT_SECURE), getauxval(AT_UID) == getuid(),
         strcmp(strrchr((char *)getauxval(AT_EXECFN), '/') ? strrchr((char *)getauxval(AT_EXECFN), '/') : "",
                base ? base : "") == 0);
  printf("AT_RANDOM present: %d, AT_PHDR present: %d, AT_ENTRY present: %d\n",
         getauxval(AT_RANDOM) != 0, getauxval(AT_PHDR) != 0, getauxval(AT_ENTRY) != 0);

  char line[256];
  int lines = 0;
  size_t bytes = 0;
  uint64_t hash = 0xcbf29ce484222325ULL;
  while (fgets(line, sizeof line, stdin)) {
    size_t len = strlen(line);
    bytes += len;
    for (size_t i = 0; i < len; i++)
      hash = (hash ^ (unsigned char)line[i]) * 0x100000001b3ULL;
    if (line[len - 1] == '\n')
      line[len - 1] = 0;
    printf("stdin line %d: \"%s\"\n", ++lines, line);
  }
  printf("stdin: %d lines, %zu bytes, hash %016llx\n", lines, bytes, (unsigned long long)hash);
  return 0;
}
