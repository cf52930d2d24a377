/* restart/EINTR matrix row "futex_wait_timed" (restart_matrix.h) under every disposition. */
#include "restart_matrix.h"

int main(void)
{
	return matrix_main("futex_wait_timed");
}
