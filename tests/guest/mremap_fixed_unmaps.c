/* `mremap` with MREMAP_FIXED unmaps the destination before checks that may
 * still fail (`mm/mremap.c: mremap_to()`): a destination below
 * `mmap_min_addr`, without CAP_SYS_RAWIO, fails with EPERM after whatever
 * was mapped there is gone. Code that was there then faults when run, as
 * natively; tern kept it in its map as mapped and executable, and died of
 * "internal fault" reading it to translate (found by fuzz-syscall, seed
 * 816407). Compared with the native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static sigjmp_buf back;

static void on_segv(int sig) {
    (void)sig;
    siglongjmp(back, 1);
}

/* Calls the code at `code` and says whether it ran or faulted. */
static const char *call(void *code) {
    if (sigsetjmp(back, 1))
        return "SIGSEGV";
    ((void (*)(void))code)();
    return "ran";
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    /* No capabilities in effect, as for a user: no mapping below
     * mmap_min_addr. */
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    if (syscall(SYS_capget, &h, d) == 0) {
        d[0].effective = d[1].effective = 0;
        syscall(SYS_capset, &h, d);
    }
    signal(SIGSEGV, on_segv);
    long min = 65536;
    FILE *f = fopen("/proc/sys/vm/mmap_min_addr", "r");
    if (f) {
        if (fscanf(f, "%ld", &min) != 1)
            min = 65536;
        fclose(f);
    }
    /* A page of code just above mmap_min_addr, and a page to move. */
    unsigned char *code = mmap((void *)min, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    void *src = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code != (void *)min || src == MAP_FAILED) {
        printf("setup failed\n");
        return 1;
    }
    code[0] = 0xc3; /* ret */
    printf("code before: %s\n", call(code));
    /* To address 0, over the code page: refused below mmap_min_addr. */
    long r = syscall(SYS_mremap, src, 4096, min + 4096, MREMAP_MAYMOVE | MREMAP_FIXED, 0);
    printf("mremap to 0: %ld (%s)\n", r, r == -1 ? strerror(errno) : "moved");
    unsigned char v;
    printf("code page mapped: %s\n", mincore(code, 4096, &v) == 0 ? "yes" : "no");
    printf("code after: %s\n", call(code));
    /* An old range that is not mapped fails before the unmap. */
    void *back_page = mmap(code, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (back_page == code) {
        code[0] = 0xc3;
        munmap(src, 4096);
        r = syscall(SYS_mremap, src, 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, code);
        printf("mremap of nothing: %ld (%s); code %s\n", r, r == -1 ? strerror(errno) : "moved", call(code));
    }
    return 0;
}
