/* restart/EINTR matrix row "epoll_wait" (restart_matrix.h) under every disposition. */
#include "restart_matrix.h"

int main(void)
{
	return matrix_main("epoll_wait");
}
