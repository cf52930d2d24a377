/* restart/EINTR matrix row "read_pipe" (restart_matrix.h) under every disposition. */
#include "restart_matrix.h"

int main(void)
{
	return matrix_main("read_pipe");
}
