/* System calls made with DF or AC set in EFLAGS, and with a non-default
 * MXCSR: the kernel runs them as usual and hands the flags and the control
 * word back unchanged. Under tern the call runs tern's own code in
 * between, which needs DF and AC clear (a backwards memcpy, an alignment
 * check fault) and the default MXCSR: it must set them for itself and give
 * the guest's back. Each call copies strings through the kernel (getcwd,
 * write and read on a pipe), so a tern that kept DF would corrupt them.
 * ID (the flag CPUID detection toggles) must come back as the guest set it
 * too, whichever way tern restores the flags it kept.
 * Prints what each call returned and the flags and MXCSR seen after it. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DF (1ul << 10)
#define AC (1ul << 18)
#define ID (1ul << 21)

/* syscall(nr, a, b, c) with `set` or-ed into EFLAGS around it; the flags
 * after it in *after. */
static long call_with_flags(unsigned long set, long nr, long a, long b, long c, unsigned long *after) {
    long ret;
    unsigned long flags;
    __asm__ volatile(
        "pushfq\n\t"
        "orq %[set], (%%rsp)\n\t"
        "popfq\n\t"
        "syscall\n\t"
        "pushfq\n\t"
        "popq %[flags]\n\t"
        "pushfq\n\t"
        "andq %[clear], (%%rsp)\n\t"
        "popfq"
        : "=a"(ret), [flags] "=&r"(flags)
        : "a"(nr), "D"(a), "S"(b), "d"(c), [set] "r"(set), [clear] "r"(~(DF | AC | ID))
        : "rcx", "r11", "memory", "cc");
    *after = flags;
    return ret;
}

static void round_trip(const char *name, unsigned long set) {
    int p[2];
    char cwd[256], back[64];
    unsigned long f1, f2, f3;
    const char *msg = "through the pipe, byte by byte";
    if (pipe(p) != 0)
        return;
    memset(cwd, 0, sizeof cwd);
    memset(back, 0, sizeof back);
    long r1 = call_with_flags(set, SYS_getcwd, (long)cwd, sizeof cwd, 0, &f1);
    long r2 = call_with_flags(set, SYS_write, p[1], (long)msg, (long)strlen(msg), &f2);
    long r3 = call_with_flags(set, SYS_read, p[0], (long)back, sizeof back - 1, &f3);
    printf("%s: getcwd %ld (%s) write %ld read %ld \"%s\"; kept %d %d %d\n", name, r1 > 0 ? 1L : r1,
           r1 > 0 && cwd[0] == '/' ? "a path" : cwd, r2, r3, back, (f1 & set) == set, (f2 & set) == set,
           (f3 & set) == set);
    close(p[0]);
    close(p[1]);
}

int main(void) {
    round_trip("DF", DF);
    round_trip("AC", AC);
    round_trip("DF+AC", DF | AC);
    /* The CPUID-detection flag, which user code may toggle: kept as set. */
    round_trip("ID", ID);
    round_trip("ID+DF", ID | DF);
    /* Round toward zero, flush to zero, all exceptions masked. */
    uint32_t mode = 0x1f80 | (3u << 13) | (1u << 15), seen = 0;
    __asm__ volatile("ldmxcsr %0" ::"m"(mode));
    round_trip("MXCSR", 0);
    __asm__ volatile("stmxcsr %0" : "=m"(seen));
    printf("MXCSR after the calls %#x (set %#x)\n", seen, mode);
    volatile float one = 1.0f, three = 3.0f;
    float third = one / three;
    printf("1/3 rounded toward zero: %a\n", (double)third);
    return 0;
}
