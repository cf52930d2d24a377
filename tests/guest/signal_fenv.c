/* signal_fenv.c - fenv.c with the parts that need guest signal handlers:
 * an unmasked divide-by-zero caught by a SIGFPE handler. */
#define WITH_SIGNALS 1
#include "fenv.c"
