/* restart/EINTR matrix row "nanosleep" (restart_matrix.h) under every disposition. */
#include "restart_matrix.h"

int main(void)
{
	return matrix_main("nanosleep");
}
