/* signal_mmap.c - mmap.c with the parts that need guest signal handlers:
 * faults on unmapped and protected memory caught by a SIGSEGV/SIGBUS handler. */
#define WITH_SIGNALS 1
#include "mmap.c"
