/* Harness of the differential instruction fuzzer (fuzz-guest/src/insn).
 *
 * Reads from stdin: the magic "TFUZINS1", the code length (u64), the initial
 * state (struct state: only gpr, rflags, mxcsr, xmm, when avx is set the
 * upper halves of the ymm registers, when evex is set the upper halves of
 * zmm0-15, zmm16-31 and the opmask registers, and a nonzero fsbase are
 * used), the initial
 * scratch area, then the code bytes. Maps the scratch area and the code at
 * fixed addresses (so the encoded code and every address it computes are the
 * same natively and under tern), loads the state and jumps to the code. The
 * code ends with a jump to EXIT_ADDR, where a trampoline leads to fuzz_exit,
 * which saves the state; main then writes the magic, the final state and the
 * scratch area to stdout. A sequence that faults kills the process with the
 * signal: there are no signal handlers.
 *
 * Exit codes: 0 after writing the state; 2 setup failed (bad input, fixed
 * mapping taken). */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Above where the kernel may start a static program's break (up to 1 GiB
 * past its end); `state.rs` names the same. */
#define CODE_ADDR 0x60000000UL
#define CODE_SIZE 0x11000UL
#define EXIT_ADDR (CODE_ADDR + 0x10000UL)
#define SCRATCH_ADDR 0x50000000UL
#define SCRATCH_SIZE 0x4000UL

/* Offsets used by the assembly below: gpr 0, rflags 128, mxcsr 136, xmm 144,
 * seg 400 (fs selector, gs selector, fs base, gs base), fx 432 (fxsave),
 * ymmh 944 (bits 255:128 of each ymm), avx 1200 (nonzero: load and save
 * ymmh; the generator sets it only for its AVX and EVEX classes, so the
 * harness runs on a host without AVX otherwise), evex 1208 (nonzero: load
 * and save zmmh, zmm16 and k; only for the EVEX class, which needs
 * AVX-512), fsbase 1216 (nonzero: the FS base the code runs with, set with
 * arch_prctl before it starts), zmmh 1232 (bits 511:256 of zmm0-15), zmm16
 * 1744 (zmm16-31 whole), k 2768 (k0-k7). */
struct state {
    uint64_t gpr[16];
    uint64_t rflags;
    uint64_t mxcsr;
    uint64_t xmm[16][2];
    uint64_t seg[4];
    uint8_t fx[512];
    uint64_t ymmh[16][2];
    uint64_t avx;
    uint64_t evex;
    uint64_t fsbase;
    uint64_t pad;
    uint64_t zmmh[16][4];
    uint64_t zmm16[16][8];
    uint64_t k[8];
} __attribute__((aligned(16)));

_Static_assert(sizeof(struct state) == 2832, "STATE_SIZE in state.rs");

struct state fuzz_in, fuzz_out;
uint64_t fuzz_host_rsp, fuzz_saved_fs, fuzz_code_entry = CODE_ADDR;
extern void fuzz_enter(void);
extern char fuzz_exit[];

#define XMM_LOAD(i) "movdqu fuzz_in+144+16*" #i "(%rip), %xmm" #i "\n"
#define XMM_SAVE(i) "movdqu %xmm" #i ", fuzz_out+144+16*" #i "(%rip)\n"
#define YMM_LOAD(i) "vinsertf128 $1, fuzz_in+944+16*" #i "(%rip), %ymm" #i ", %ymm" #i "\n"
#define YMM_SAVE(i) "vextractf128 $1, %ymm" #i ", fuzz_out+944+16*" #i "(%rip)\n"
#define ZMMH_LOAD(i) "vinserti64x4 $1, fuzz_in+1232+32*" #i "(%rip), %zmm" #i ", %zmm" #i "\n"
#define ZMMH_SAVE(i) "vextracti64x4 $1, %zmm" #i ", fuzz_out+1232+32*" #i "(%rip)\n"
#define ZMM16_LOAD(i) "vmovdqu64 fuzz_in+1744+64*(" #i "-16)(%rip), %zmm" #i "\n"
#define ZMM16_SAVE(i) "vmovdqu64 %zmm" #i ", fuzz_out+1744+64*(" #i "-16)(%rip)\n"
#define K_LOAD(i) "kmovq fuzz_in+2768+8*" #i "(%rip), %k" #i "\n"
#define K_SAVE(i) "kmovq %k" #i ", fuzz_out+2768+8*" #i "(%rip)\n"
__asm__(".text\n"
        ".globl fuzz_enter\n"
        "fuzz_enter:\n"
        "push %rbx\npush %rbp\npush %r12\npush %r13\npush %r14\npush %r15\n"
        "mov %rsp, fuzz_host_rsp(%rip)\n"
        /* arch_prctl(ARCH_SET_FS, fsbase) when asked: no C code runs
         * until fuzz_exit gives the C library its FS base back. */
        "mov fuzz_in+1216(%rip), %rsi\ntest %rsi, %rsi\njz 4f\n"
        "mov $158, %eax\nmov $0x1002, %edi\nsyscall\n"
        "4:\n"
        "ldmxcsr fuzz_in+136(%rip)\n"
        XMM_LOAD(0) XMM_LOAD(1) XMM_LOAD(2) XMM_LOAD(3) XMM_LOAD(4) XMM_LOAD(5) XMM_LOAD(6) XMM_LOAD(7)
        XMM_LOAD(8) XMM_LOAD(9) XMM_LOAD(10) XMM_LOAD(11) XMM_LOAD(12) XMM_LOAD(13) XMM_LOAD(14) XMM_LOAD(15)
        "cmpq $0, fuzz_in+1200(%rip)\nje 1f\n"
        YMM_LOAD(0) YMM_LOAD(1) YMM_LOAD(2) YMM_LOAD(3) YMM_LOAD(4) YMM_LOAD(5) YMM_LOAD(6) YMM_LOAD(7)
        YMM_LOAD(8) YMM_LOAD(9) YMM_LOAD(10) YMM_LOAD(11) YMM_LOAD(12) YMM_LOAD(13) YMM_LOAD(14) YMM_LOAD(15)
        "1:\n"
        "cmpq $0, fuzz_in+1208(%rip)\nje 3f\n"
        ZMMH_LOAD(0) ZMMH_LOAD(1) ZMMH_LOAD(2) ZMMH_LOAD(3) ZMMH_LOAD(4) ZMMH_LOAD(5) ZMMH_LOAD(6) ZMMH_LOAD(7)
        ZMMH_LOAD(8) ZMMH_LOAD(9) ZMMH_LOAD(10) ZMMH_LOAD(11) ZMMH_LOAD(12) ZMMH_LOAD(13) ZMMH_LOAD(14) ZMMH_LOAD(15)
        ZMM16_LOAD(16) ZMM16_LOAD(17) ZMM16_LOAD(18) ZMM16_LOAD(19) ZMM16_LOAD(20) ZMM16_LOAD(21) ZMM16_LOAD(22)
        ZMM16_LOAD(23) ZMM16_LOAD(24) ZMM16_LOAD(25) ZMM16_LOAD(26) ZMM16_LOAD(27) ZMM16_LOAD(28) ZMM16_LOAD(29)
        ZMM16_LOAD(30) ZMM16_LOAD(31)
        K_LOAD(0) K_LOAD(1) K_LOAD(2) K_LOAD(3) K_LOAD(4) K_LOAD(5) K_LOAD(6) K_LOAD(7)
        "3:\n"
        "fninit\n"
        "pushq fuzz_in+128(%rip)\npopfq\n"
        "mov fuzz_in+0(%rip), %rax\nmov fuzz_in+8(%rip), %rcx\nmov fuzz_in+16(%rip), %rdx\n"
        "mov fuzz_in+24(%rip), %rbx\nmov fuzz_in+40(%rip), %rbp\nmov fuzz_in+48(%rip), %rsi\n"
        "mov fuzz_in+56(%rip), %rdi\nmov fuzz_in+64(%rip), %r8\nmov fuzz_in+72(%rip), %r9\n"
        "mov fuzz_in+80(%rip), %r10\nmov fuzz_in+88(%rip), %r11\nmov fuzz_in+96(%rip), %r12\n"
        "mov fuzz_in+104(%rip), %r13\nmov fuzz_in+112(%rip), %r14\nmov fuzz_in+120(%rip), %r15\n"
        "mov fuzz_in+32(%rip), %rsp\n"
        "jmp *fuzz_code_entry(%rip)\n"
        ".globl fuzz_exit\n"
        "fuzz_exit:\n"
        "mov %rax, fuzz_out+0(%rip)\nmov %rcx, fuzz_out+8(%rip)\nmov %rdx, fuzz_out+16(%rip)\n"
        "mov %rbx, fuzz_out+24(%rip)\nmov %rsp, fuzz_out+32(%rip)\nmov %rbp, fuzz_out+40(%rip)\n"
        "mov %rsi, fuzz_out+48(%rip)\nmov %rdi, fuzz_out+56(%rip)\nmov %r8, fuzz_out+64(%rip)\n"
        "mov %r9, fuzz_out+72(%rip)\nmov %r10, fuzz_out+80(%rip)\nmov %r11, fuzz_out+88(%rip)\n"
        "mov %r12, fuzz_out+96(%rip)\nmov %r13, fuzz_out+104(%rip)\nmov %r14, fuzz_out+112(%rip)\n"
        "mov %r15, fuzz_out+120(%rip)\n"
        "mov fuzz_host_rsp(%rip), %rsp\n"
        "pushfq\npop %rax\nmov %rax, fuzz_out+128(%rip)\n"
        "stmxcsr fuzz_out+136(%rip)\n"
        XMM_SAVE(0) XMM_SAVE(1) XMM_SAVE(2) XMM_SAVE(3) XMM_SAVE(4) XMM_SAVE(5) XMM_SAVE(6) XMM_SAVE(7)
        XMM_SAVE(8) XMM_SAVE(9) XMM_SAVE(10) XMM_SAVE(11) XMM_SAVE(12) XMM_SAVE(13) XMM_SAVE(14) XMM_SAVE(15)
        "cmpq $0, fuzz_in+1208(%rip)\nje 5f\n"
        ZMMH_SAVE(0) ZMMH_SAVE(1) ZMMH_SAVE(2) ZMMH_SAVE(3) ZMMH_SAVE(4) ZMMH_SAVE(5) ZMMH_SAVE(6) ZMMH_SAVE(7)
        ZMMH_SAVE(8) ZMMH_SAVE(9) ZMMH_SAVE(10) ZMMH_SAVE(11) ZMMH_SAVE(12) ZMMH_SAVE(13) ZMMH_SAVE(14) ZMMH_SAVE(15)
        ZMM16_SAVE(16) ZMM16_SAVE(17) ZMM16_SAVE(18) ZMM16_SAVE(19) ZMM16_SAVE(20) ZMM16_SAVE(21) ZMM16_SAVE(22)
        ZMM16_SAVE(23) ZMM16_SAVE(24) ZMM16_SAVE(25) ZMM16_SAVE(26) ZMM16_SAVE(27) ZMM16_SAVE(28) ZMM16_SAVE(29)
        ZMM16_SAVE(30) ZMM16_SAVE(31)
        K_SAVE(0) K_SAVE(1) K_SAVE(2) K_SAVE(3) K_SAVE(4) K_SAVE(5) K_SAVE(6) K_SAVE(7)
        "5:\n"
        "cmpq $0, fuzz_in+1200(%rip)\nje 2f\n"
        YMM_SAVE(0) YMM_SAVE(1) YMM_SAVE(2) YMM_SAVE(3) YMM_SAVE(4) YMM_SAVE(5) YMM_SAVE(6) YMM_SAVE(7)
        YMM_SAVE(8) YMM_SAVE(9) YMM_SAVE(10) YMM_SAVE(11) YMM_SAVE(12) YMM_SAVE(13) YMM_SAVE(14) YMM_SAVE(15)
        "vzeroupper\n"
        "2:\n"
        "fxsave fuzz_out+432(%rip)\n"
        "xor %eax, %eax\nmov %fs, %eax\nmov %rax, fuzz_out+400(%rip)\n"
        "xor %eax, %eax\nmov %gs, %eax\nmov %rax, fuzz_out+408(%rip)\n"
        "cld\nfninit\n"
        /* arch_prctl(ARCH_GET_FS / ARCH_GET_GS), then restore the C library's
         * FS base and a zero GS base before any C code runs. */
        "mov $158, %eax\nmov $0x1003, %edi\nlea fuzz_out+416(%rip), %rsi\nsyscall\n"
        "mov $158, %eax\nmov $0x1004, %edi\nlea fuzz_out+424(%rip), %rsi\nsyscall\n"
        "mov $158, %eax\nmov $0x1002, %edi\nmov fuzz_saved_fs(%rip), %rsi\nsyscall\n"
        "mov $158, %eax\nmov $0x1001, %edi\nxor %esi, %esi\nsyscall\n"
        "sub $8, %rsp\nmovl $0x1f80, (%rsp)\nldmxcsr (%rsp)\nadd $8, %rsp\n"
        "pop %r15\npop %r14\npop %r13\npop %r12\npop %rbp\npop %rbx\n"
        "ret\n");

static int read_all(void *buf, size_t len) {
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(0, p, len);
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void write_all(const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(1, p, len);
        if (n <= 0)
            _exit(3);
        p += n;
        len -= (size_t)n;
    }
}

int main(void) {
    uint64_t head[2];
    if (read_all(head, sizeof head) || memcmp(head, "TFUZINS1", 8) || head[1] > EXIT_ADDR - CODE_ADDR)
        return 2;
    if (read_all(&fuzz_in, sizeof fuzz_in))
        return 2;
    void *scratch = mmap((void *)SCRATCH_ADDR, SCRATCH_SIZE, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    void *code = mmap((void *)CODE_ADDR, CODE_SIZE, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (scratch != (void *)SCRATCH_ADDR || code != (void *)CODE_ADDR)
        return 2;
    if (read_all(scratch, SCRATCH_SIZE) || read_all(code, head[1]))
        return 2;
    /* Anything the code does not cover traps. */
    memset((char *)code + head[1], 0xcc, CODE_SIZE - head[1]);
    /* jmp qword ptr [rip]; dq fuzz_exit */
    unsigned char *t = (unsigned char *)EXIT_ADDR;
    t[0] = 0xff;
    t[1] = 0x25;
    memset(t + 2, 0, 4);
    uint64_t target = (uint64_t)fuzz_exit;
    memcpy(t + 6, &target, 8);
    if (mprotect(code, CODE_SIZE, PROT_READ | PROT_EXEC))
        return 2;
    if (syscall(SYS_arch_prctl, 0x1003, &fuzz_saved_fs))
        return 2;
    fuzz_enter();
    /* The FS base is the C library's TLS pointer (placed differently in each
     * run): report 1 when the code left it alone. */
    if (fuzz_out.seg[2] == fuzz_saved_fs)
        fuzz_out.seg[2] = 1;
    write_all("TFUZOUT1", 8);
    write_all(&fuzz_out, sizeof fuzz_out);
    write_all(scratch, SCRATCH_SIZE);
    return 0;
}
