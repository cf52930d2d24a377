/* restart/EINTR matrix row "open_fifo" (restart_matrix.h) under every disposition. */
#include "restart_matrix.h"

int main(void)
{
	return matrix_main("open_fifo");
}
