/* restart/EINTR matrix row "pselect6" (restart_matrix.h) under every disposition. */
#include "restart_matrix.h"

int main(void)
{
	return matrix_main("pselect6");
}
