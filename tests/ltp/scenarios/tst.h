/* Interim stand-in for h/ltpa's tst.h (replaced at the merge). */
#ifndef TST_H
#define TST_H
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#define TPASS 0
#define TFAIL 1
#define TBROK 2
#define TCONF 32
#define TINFO 64
static int tst_result;
static void tst_res(int t, const char *fmt, ...)
{
	va_list ap;
	const char *w = t == TPASS ? "PASS" : t == TFAIL ? "FAIL" : t == TBROK ? "BROK" : t == TCONF ? "CONF" : "INFO";
	printf("%s: ", w);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (t == TFAIL || t == TBROK)
		tst_result = tst_result ? tst_result : t;
	else if (t == TCONF && !tst_result)
		tst_result = TCONF;
}
static int tst_exit(void) { return tst_result == TCONF ? 32 : tst_result; }
#endif
