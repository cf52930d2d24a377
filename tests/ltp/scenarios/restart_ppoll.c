/* restart/EINTR matrix row "ppoll" (restart_matrix.h) under every disposition. */
#include "restart_matrix.h"

int main(void)
{
	return matrix_main("ppoll");
}
