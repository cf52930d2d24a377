/* restart/EINTR matrix row "accept" (restart_matrix.h) under every disposition. */
#include "restart_matrix.h"

int main(void)
{
	return matrix_main("accept");
}
