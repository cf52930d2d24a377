/* signal_setjmp.c - setjmp.c with the parts that need guest signal handlers:
 * siglongjmp out of a SIGUSR1 handler. */
#define WITH_SIGNALS 1
#include "setjmp.c"
