/* restart/EINTR matrix row "waitid" (restart_matrix.h) under every disposition. */
#include "restart_matrix.h"

int main(void)
{
	return matrix_main("waitid");
}
