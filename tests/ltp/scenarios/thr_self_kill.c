/* A thread that sends a fatal signal to its own process ends the whole
 * process with that signal, without hanging, whatever the other threads
 * are doing (one blocked in read, one spinning): SIGKILL, SIGTERM, and
 * SIGSEGV from a fault in the thread. */
#include "tst.h"

static int fds[2];
static volatile int spin;

static void *reader(void *arg)
{
	(void)arg;
	char c;
	read(fds[0], &c, 1);
	return NULL;
}

static void *spinner(void *arg)
{
	(void)arg;
	for (;;)
		spin++;
	return NULL;
}

static void *killer(void *arg)
{
	int sig = (int)(long)arg;
	tst_sleep_ms(20);
	if (sig == SIGSEGV)
		*(volatile int *)(uintptr_t)spin = 0;
	kill(getpid(), sig);
	tst_sleep_ms(5000);
	return NULL;
}

int main(void)
{
	struct rlimit rl = { 0, 0 };
	SAFE(setrlimit(RLIMIT_CORE, &rl));
	int sigs[] = { SIGKILL, SIGTERM, SIGSEGV };
	for (int i = 0; i < 3; i++) {
		pid_t pid = tst_fork();
		if (pid == 0) {
			SAFE(pipe(fds));
			spin = 0;
			tst_thread(reader, NULL);
			tst_thread(spinner, NULL);
			tst_thread(killer, (void *)(long)sigs[i]);
			char c;
			read(fds[0], &c, 1);
			_exit(0);
		}
		int st = tst_waitpid(pid, 0);
		TST_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == sigs[i], "%s from a thread: %s", tst_signame(sigs[i]),
			  tst_strstatus(st));
	}
	return tst_exit();
}
