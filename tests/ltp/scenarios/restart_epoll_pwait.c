/* restart/EINTR matrix row "epoll_pwait" (restart_matrix.h) under every disposition. */
#include "restart_matrix.h"

int main(void)
{
	return matrix_main("epoll_pwait");
}
