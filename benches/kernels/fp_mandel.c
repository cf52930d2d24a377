/* Mandelbrot set: SIZE x SIZE pixels over [-2,1]x[-1.5,1.5], at most 100
 * iterations each. Prints the count of points inside and a checksum of the
 * iteration counts. */
#include "common.h"

int main(int argc, char **argv) {
    long n = arg_size(argc, argv, 1000);
    uint64_t inside = 0, h = CHECKSUM_INIT;
    for (long py = 0; py < n; py++) {
        double ci = 3.0 * (double)py / (double)n - 1.5;
        uint64_t row = 0;
        for (long px = 0; px < n; px++) {
            double cr = 3.0 * (double)px / (double)n - 2.0;
            double zr = 0, zi = 0;
            int it = 0;
            while (it < 100 && zr * zr + zi * zi <= 4.0) {
                double t = zr * zr - zi * zi + cr;
                zi = 2.0 * zr * zi + ci;
                zr = t;
                it++;
            }
            inside += it == 100;
            row = row * 31 + (uint64_t)it;
        }
        h = mix(h, row);
    }
    printf("mandel n=%ld inside=%llu checksum=%016llx\n", n, (unsigned long long)inside, (unsigned long long)h);
    return 0;
}
