/* restart/EINTR matrix row "clock_nanosleep" (restart_matrix.h) under every disposition. */
#include "restart_matrix.h"

int main(void)
{
	return matrix_main("clock_nanosleep");
}
