/* Core-dumping default actions: with RLIMIT_CORE 0 the status has no core
 * flag; with a 16 MiB limit (ample for this small program; in a scratch
 * directory, core_pattern "core") WCOREDUMP is set and a core file appears. */
#include "tst.h"

static int status_of(int sig, rlim_t limit)
{
	pid_t pid = tst_fork();
	if (pid == 0) {
		struct rlimit rl = { limit, limit };
		setrlimit(RLIMIT_CORE, &rl);
		raise(sig);
		_exit(0);
	}
	return tst_waitpid(pid, 0);
}

int main(void)
{
	char pattern[64] = "";
	int fd = open("/proc/sys/kernel/core_pattern", O_RDONLY);
	if (fd >= 0) {
		ssize_t n = read(fd, pattern, sizeof pattern - 1);
		pattern[n > 0 ? n : 0] = 0;
		close(fd);
	}
	int st = status_of(SIGQUIT, 0);
	TST_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGQUIT && !WCOREDUMP(st), "RLIMIT_CORE 0: %s", tst_strstatus(st));
	if (strcmp(pattern, "core\n") != 0)
		tst_brk(TCONF, "core_pattern is not \"core\"");
	char dir[] = "/tmp/tst-core-XXXXXX";
	if (!mkdtemp(dir))
		tst_brk(TBROK, "mkdtemp: %s", tst_errname(errno));
	SAFE(chdir(dir));
	st = status_of(SIGABRT, 16 << 20);
	TST_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT && WCOREDUMP(st), "RLIMIT_CORE 16 MiB: %s", tst_strstatus(st));
	int found = access("core", F_OK) == 0;
	TST_CHECK(found, "a core file was written");
	unlink("core");
	SAFE(chdir("/"));
	rmdir(dir);
	return tst_exit();
}
