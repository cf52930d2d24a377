/* Stress (stress.h): a thread blocked in nanosleep, signals at random moments. */
#include "stress.h"

int main(void)
{
	return stress_main("nanosleep");
}
