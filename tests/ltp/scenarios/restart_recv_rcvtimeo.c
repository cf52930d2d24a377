/* restart/EINTR matrix row "recv_rcvtimeo" (restart_matrix.h) under every disposition. */
#include "restart_matrix.h"

int main(void)
{
	return matrix_main("recv_rcvtimeo");
}
