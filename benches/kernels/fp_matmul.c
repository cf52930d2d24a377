/* Dense matrix multiply: C = A * B for SIZE x SIZE doubles (i-k-j loop order,
 * the form compilers vectorise), then a checksum of C. */
#include "common.h"

int main(int argc, char **argv) {
    long n = arg_size(argc, argv, 300);
    double *a = malloc(n * n * sizeof *a), *b = malloc(n * n * sizeof *b), *c = calloc(n * n, sizeof *c);
    if (!a || !b || !c)
        return 1;
    for (long i = 0; i < n * n; i++) {
        a[i] = (double)(rng_next() % 2001) / 1000.0 - 1.0;
        b[i] = (double)(rng_next() % 2001) / 1000.0 - 1.0;
    }
    for (long i = 0; i < n; i++)
        for (long k = 0; k < n; k++) {
            double aik = a[i * n + k];
            for (long j = 0; j < n; j++)
                c[i * n + j] += aik * b[k * n + j];
        }
    double trace = 0, sum = 0;
    for (long i = 0; i < n; i++) {
        trace += c[i * n + i];
        for (long j = 0; j < n; j++)
            sum += c[i * n + j] * (double)((i + j) % 7);
    }
    printf("matmul n=%ld trace=%.9e weighted=%.9e\n", n, trace, sum);
    return 0;
}
