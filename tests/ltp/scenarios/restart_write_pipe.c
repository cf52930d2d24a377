/* restart/EINTR matrix row "write_pipe" (restart_matrix.h) under every disposition. */
#include "restart_matrix.h"

int main(void)
{
	return matrix_main("write_pipe");
}
