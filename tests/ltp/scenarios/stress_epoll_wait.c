/* Stress (stress.h): a thread blocked in epoll_wait, signals at random moments. */
#include "stress.h"

int main(void)
{
	return stress_main("epoll_wait");
}
