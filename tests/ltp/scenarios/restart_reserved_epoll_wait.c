/* restart/EINTR matrix row "epoll_wait" (restart_matrix.h) interrupted by SIGFPE
 * sent with kill: one of tern's reserved signals, which must follow the
 * same rules as any other (handler with or without SA_RESTART, ignored,
 * blocked). */
#define MX_SIG SIGFPE
#include "restart_matrix.h"

int main(void)
{
	return matrix_main("epoll_wait");
}
