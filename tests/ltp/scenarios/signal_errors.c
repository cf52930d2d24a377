/* signal(): SIG_ERR with EINVAL for SIGKILL, SIGSTOP and bad numbers; the
 * previous handler is returned on success. */
#include "tst.h"

static void h(int sig) { (void)sig; }
static void h2(int sig) { (void)sig; }

int main(void)
{
	errno = 0;
	TST_CHECK(signal(SIGKILL, h) == SIG_ERR && errno == EINVAL, "SIGKILL: SIG_ERR, EINVAL");
	errno = 0;
	TST_CHECK(signal(SIGSTOP, SIG_IGN) == SIG_ERR && errno == EINVAL, "SIGSTOP: SIG_ERR, EINVAL");
	errno = 0;
	TST_CHECK(signal(0, h) == SIG_ERR && errno == EINVAL, "signal 0: SIG_ERR, EINVAL");
	errno = 0;
	TST_CHECK(signal(_NSIG, h) == SIG_ERR && errno == EINVAL, "signal _NSIG: SIG_ERR, EINVAL");
	TST_CHECK(signal(SIGINT, h) == SIG_DFL, "first install returns SIG_DFL");
	TST_CHECK(signal(SIGINT, h2) == h, "second returns the first handler");
	TST_CHECK(signal(SIGINT, SIG_IGN) == h2, "third returns the second handler");
	TST_CHECK(signal(SIGINT, SIG_DFL) == SIG_IGN, "fourth returns SIG_IGN");
	return tst_exit();
}
