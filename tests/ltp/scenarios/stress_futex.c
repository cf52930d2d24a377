/* Stress (stress.h): a thread blocked in futex, signals at random moments. */
#include "stress.h"

int main(void)
{
	return stress_main("futex");
}
