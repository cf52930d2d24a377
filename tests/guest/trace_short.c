/* Hot loops that run only a few turns each time they are entered, from a
 * caller that is itself a loop: traces of the short loops cost more to
 * enter than they save, and the optimizer takes them out of use again
 * (`--stats`: "traces: retired"); the results must not change. */
#include <stdio.h>

__attribute__((noinline)) static unsigned long few(const unsigned long *a, int k, unsigned long s) {
    for (int i = 0; i < k; i++) s = s * 31 + a[i];
    return s;
}

int main(void) {
    unsigned long a[8];
    for (int i = 0; i < 8; i++) a[i] = 7u * i + 1;
    unsigned long s = 0;
    for (long n = 0; n < 3000000; n++) s = few(a, 3 + (int)(n & 3), s);
    printf("%lx\n", s);
    return 0;
}
