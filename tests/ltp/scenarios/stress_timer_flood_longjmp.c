/* Timer flood (timer_flood.h): handlers that siglongjmp out, on the normal and the alternate stack. */
#include "timer_flood.h"

int main(void)
{
	return flood_main(1);
}
