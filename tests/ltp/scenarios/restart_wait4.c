/* restart/EINTR matrix row "wait4" (restart_matrix.h) under every disposition. */
#include "restart_matrix.h"

int main(void)
{
	return matrix_main("wait4");
}
