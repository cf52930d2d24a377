/* SIGPIPE: writing to a pipe with no reader kills with SIGPIPE by default;
 * ignored, the write fails with EPIPE; handled, the handler runs (sent to
 * the writing thread) and the write fails with EPIPE; send with
 * MSG_NOSIGNAL gives EPIPE and no signal. */
#include "tst.h"
#include <sys/socket.h>

static int reader_gone_pipe(void)
{
	int fds[2];
	SAFE(pipe(fds));
	close(fds[0]);
	return fds[1];
}

int main(void)
{
	pid_t p = tst_fork();
	if (p == 0) {
		signal(SIGPIPE, SIG_DFL);
		write(reader_gone_pipe(), "x", 1);
		_exit(0);
	}
	int st = tst_waitpid(p, 0);
	TST_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE, "default: %s", tst_strstatus(st));

	tst_signal(SIGPIPE, SIG_IGN);
	TST_EXP_FAIL(write(reader_gone_pipe(), "x", 1), EPIPE);

	tst_sigaction(SIGPIPE, tst_handler, 0);
	TST_EXP_FAIL(write(reader_gone_pipe(), "x", 1), EPIPE);
	TST_EXP_EQ(tst_sig_count[SIGPIPE], 1, "the handler ran once");
	TST_CHECK(tst_sig_tid[SIGPIPE] == tst_gettid(), "in the writing thread");

	int sv[2];
	SAFE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	close(sv[1]);
	TST_EXP_FAIL(send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
	TST_EXP_EQ(tst_sig_count[SIGPIPE], 1, "MSG_NOSIGNAL: no SIGPIPE");
	TST_EXP_FAIL(send(sv[0], "x", 1, 0), EPIPE);
	TST_EXP_EQ(tst_sig_count[SIGPIPE], 2, "send without it: SIGPIPE");
	return tst_exit();
}
