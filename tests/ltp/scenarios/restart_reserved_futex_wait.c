/* restart/EINTR matrix row "futex_wait" (restart_matrix.h) interrupted by SIGBUS
 * sent with kill: one of tern's reserved signals, which must follow the
 * same rules as any other (handler with or without SA_RESTART, ignored,
 * blocked). */
#define MX_SIG SIGBUS
#include "restart_matrix.h"

int main(void)
{
	return matrix_main("futex_wait");
}
