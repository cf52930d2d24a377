/* Timer flood (timer_flood.h): handlers that return, on the normal and the alternate stack. */
#include "timer_flood.h"

int main(void)
{
	return flood_main(0);
}
