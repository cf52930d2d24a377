/* signal_frame.c - the signal frame a handler sees, for each synchronous
 * fault: where ucontext, siginfo and the FPU state sit relative to the
 * stack pointer at handler entry, the registers at entry (rax, flags, FPU
 * control words), every saved register, err/trapno/cr2, the saved mask,
 * uc_flags, uc_stack, the xsave magic; and the edits the handler makes
 * (rip, r12, CF, xmm1, uc_sigmask) taking effect at rt_sigreturn.
 * Only values that do not depend on where the stack is are printed. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

uint64_t entry_sp, entry_rax, entry_flags, entry_xmm0;
uint32_t entry_mxcsr;
uint16_t entry_fcw;
uint64_t saved_rsp, saved_rbp, fault_addr, out_r12, out_xmm1;
uint8_t out_cf;
uint64_t xmm_pattern[2] = {0x0123456789abcdefull, 0xfedcba9876543210ull};
uint32_t test_mxcsr = 0x1f80 | (1 << 13); /* round down */

/* Handler entry: records the machine state the kernel left, then runs
 * the C handler with the same arguments. */
__asm__(".text\n.globl tramp\ntramp:\n"
        "mov %rsp, entry_sp(%rip)\n"
        "mov %rax, entry_rax(%rip)\n"
        "pushfq\npop %rax\nmov %rax, entry_flags(%rip)\n"
        "stmxcsr entry_mxcsr(%rip)\n"
        "fnstcw entry_fcw(%rip)\n"
        "movq %xmm0, %rax\nmov %rax, entry_xmm0(%rip)\n"
        "jmp c_handler\n");
void tramp(int, siginfo_t *, void *);

struct record {
  int sig, err_no, code;
  uint64_t addr;
  ucontext_t uc;
  unsigned char fp[4096];
  uint64_t uc_off, info_off, fp_off;
  sigset_t inside;
} rec;

static char *resume_at;
static int fix_rsp;

void c_handler(int sig, siginfo_t *info, void *ctx) {
  ucontext_t *uc = ctx;
  rec.sig = sig;
  rec.err_no = info->si_errno;
  rec.code = info->si_code;
  rec.addr = (uint64_t)info->si_addr;
  rec.uc = *uc;
  rec.uc_off = (uint64_t)uc - entry_sp;
  rec.info_off = (uint64_t)info - entry_sp;
  rec.fp_off = (uint64_t)uc->uc_mcontext.fpregs - entry_sp;
  uint32_t xsize = ((uint32_t *)uc->uc_mcontext.fpregs)[116 + 4];
  memcpy(rec.fp, uc->uc_mcontext.fpregs, xsize + 4 < sizeof rec.fp ? xsize + 4 : sizeof rec.fp);
  sigprocmask(SIG_BLOCK, NULL, &rec.inside);
  /* Edits, effective at rt_sigreturn. */
  uc->uc_mcontext.gregs[REG_RIP] = (greg_t)resume_at;
  uc->uc_mcontext.gregs[REG_RSP] += fix_rsp;
  uc->uc_mcontext.gregs[REG_R12] = 0xfeedface;
  uc->uc_mcontext.gregs[REG_EFL] |= 1; /* CF */
  uint64_t *xmm1 = (uint64_t *)&uc->uc_mcontext.fpregs->_xmm[1];
  xmm1[0] = 0x1122334455667788ull;
  xmm1[1] = 0x99aabbccddeeff00ull;
  sigaddset(&uc->uc_sigmask, SIGHUP);
  sigaddset(&uc->uc_sigmask, SIGKILL);
  sigaddset(&uc->uc_sigmask, SIGSTOP);
}

#define SETUP                                                                          \
  "mov %%rsp, saved_rsp(%%rip)\n mov %%rbp, saved_rbp(%%rip)\n"                        \
  "movdqu xmm_pattern(%%rip), %%xmm0\n pxor %%xmm1, %%xmm1\n ldmxcsr test_mxcsr(%%rip)\n" \
  "xor %%eax, %%eax\n"                                                                   \
  "mov $0x1010101010101010, %%rax\n mov $0x3030303030303030, %%rbx\n"                  \
  "mov $0x2020202020202020, %%rcx\n mov $0x4040404040404040, %%rdx\n"                  \
  "mov $0x5050505050505050, %%rsi\n mov $0x6060606060606060, %%rdi\n"                  \
  "mov $0x0808080808080808, %%r8\n mov $0x0909090909090909, %%r9\n"                    \
  "mov $0x0a0a0a0a0a0a0a0a, %%r10\n mov fault_addr(%%rip), %%r11\n"                    \
  "mov $0x0c0c0c0c0c0c0c0c, %%r12\n mov $0x0d0d0d0d0d0d0d0d, %%r13\n"                  \
  "mov $0x0e0e0e0e0e0e0e0e, %%r14\n mov $0x0f0f0f0f0f0f0f0f, %%r15\n"
#define RESUME                                                                         \
  " cld\n setc out_cf(%%rip)\n"                                                         \
  "mov %%r12, out_r12(%%rip)\n movq %%xmm1, out_xmm1(%%rip)\n"
#define CLOBBERS                                                                       \
  "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", \
      "r15", "xmm0", "xmm1", "memory", "cc"

/* One function per fault so that each fault instruction has a label. */
#define CASE(name, insn)                                                               \
  extern char fault_##name[], resume_##name[];                                         \
  static void run_##name(void) {                                                       \
    resume_at = resume_##name;                                                         \
    __asm__ volatile(SETUP ".globl fault_" #name "\nfault_" #name ":\n" insn              \
                     "\n.globl resume_" #name "\nresume_" #name ":\n" RESUME ::         \
                         : CLOBBERS);                                                  \
  }

CASE(ud2, "std\n ud2")
CASE(int3, "cmp %%rax, %%rbx\n int3")
CASE(read, "mov (%%r11), %%rax")
CASE(write, "mov %%rax, (%%r11)")
CASE(exec, "call *%%r11")
CASE(div0, "xor %%ecx, %%ecx\n div %%rcx")
CASE(bus, "mov (%%r11), %%eax")
CASE(hlt, "hlt")
CASE(int40, "int $0x40")
/* With prefixes (an operand size, 13 segment overrides): the same #GP
 * (tern took them for an instruction fetch fault; the kernel selftest
 * int_signal). */
CASE(int2d_66, ".byte 0x66, 0xcd, 0x2d")
CASE(int2d_long, ".fill 13, 1, 0x2e\n .byte 0xcd, 0x2d")
/* The two `int n` gates the kernel opens to user mode: #BP (`int $3`, as
 * Go's runtime.abort encodes it, is SIGTRAP like `int3`) and #OF (`int $4`,
 * SIGSEGV with trapno 4); both trap after the instruction. (`int1`, icebp,
 * is left out: under KVM on AMD the native rip is the instruction's own.) */
CASE(int_3, ".byte 0xcd, 0x03")
CASE(int_4, ".byte 0xcd, 0x04")
/* The case for a sent signal. */
CASE(kill, "mov $39, %%eax\n syscall\n mov %%rax, %%rdi\n mov $11, %%esi\n mov $62, %%eax\n syscall")

static const char *where(uint64_t v, const char *label) {
  static char buf[8][64];
  static int n;
  char *b = buf[n++ % 8];
  if (v == 0)
    return "0";
  if (v >= (uint64_t)label - 64 && v < (uint64_t)label + 64)
    snprintf(b, 64, "insn%+ld", (long)(v - (uint64_t)label));
  else if (fault_addr && v >= fault_addr - 4096 && v < fault_addr + 4096)
    snprintf(b, 64, "data%+ld", (long)(v - fault_addr));
  else
    snprintf(b, 64, "other");
  return b;
}

static void report(const char *name, const char *label) {
  greg_t *g = rec.uc.uc_mcontext.gregs;
  printf("== %s: sig %d errno %d code %d addr %s\n", name, rec.sig, rec.err_no, rec.code,
         where(rec.addr, label));
  printf("entry: sp%%16=%lu uc=sp+%lu info=sp+%lu fpstate=sp+%lu rax=%lx flags=%lx "
         "mxcsr=%x fcw=%x xmm0=%lx\n",
         entry_sp % 16, rec.uc_off, rec.info_off, rec.fp_off, entry_rax, entry_flags,
         entry_mxcsr, entry_fcw, entry_xmm0);
  static const char *names[] = {"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
                                "rdi", "rsi", "rbp", "rbx", "rdx", "rax", "rcx", "rsp", "rip"};
  for (int i = 0; i < 17; i++) {
    if (i == REG_RSP)
      printf(" rsp=saved%+ld", (long)(g[i] - saved_rsp));
    else if (i == REG_RBP)
      printf(" rbp=saved%+ld", (long)(g[i] - saved_rbp));
    else if (i == REG_RDI && g[i] == getpid())
      printf(" rdi=pid");
    else if (i == REG_RIP || i == REG_R11 || i == REG_RCX)
      printf(" %s=%s", names[i], where(g[i], label));
    else
      printf(" %s=%llx", names[i], (unsigned long long)g[i]);
  }
  printf("\n eflags=%llx csgsfs=%llx err=%llx trapno=%lld oldmask=%llx cr2=%s\n",
         (unsigned long long)g[REG_EFL], (unsigned long long)g[REG_CSGSFS],
         (unsigned long long)g[REG_ERR], (long long)g[REG_TRAPNO],
         (unsigned long long)g[REG_OLDMASK], where(g[REG_CR2], label));
  printf(" uc_flags=%lx uc_link=%p ss_sp=%p ss_flags=%x ss_size=%zu sigmask=%lx inside=%lx\n",
         rec.uc.uc_flags, (void *)rec.uc.uc_link, rec.uc.uc_stack.ss_sp, rec.uc.uc_stack.ss_flags,
         rec.uc.uc_stack.ss_size, ((unsigned long *)&rec.uc.uc_sigmask)[0],
         ((unsigned long *)&rec.inside)[0]);
  uint32_t *sw = (uint32_t *)(rec.fp + 464);
  uint64_t xfeat;
  memcpy(&xfeat, sw + 2, 8);
  uint32_t magic2;
  memcpy(&magic2, rec.fp + sw[4], 4);
  uint64_t bv, xmm0[2];
  memcpy(&bv, rec.fp + 512, 8);
  memcpy(xmm0, rec.fp + 160, 16);
  printf(" fp: magic1=%x ext=size+%d xfeatures&3=%lx magic2=%x xstate_bv&3=%lx cwd=%x mxcsr=%x "
         "xmm0=%lx:%lx\n",
         sw[0], (int)(sw[1] - sw[4]), xfeat & 3, magic2, bv & 3, *(uint16_t *)rec.fp,
         *(uint32_t *)(rec.fp + 24), xmm0[0], xmm0[1]);
  sigset_t now;
  sigprocmask(SIG_BLOCK, NULL, &now);
  printf("after: r12=%lx cf=%d xmm1=%lx mask=%lx\n", out_r12, out_cf, out_xmm1,
         ((unsigned long *)&now)[0]);
  sigset_t none;
  sigemptyset(&none);
  sigaddset(&none, SIGUSR1);
  sigprocmask(SIG_SETMASK, &none, NULL);
  unsigned int m = 0x1f80;
  __asm__ volatile("ldmxcsr %0" ::"m"(m));
  memset(&rec, 0, sizeof rec);
  fix_rsp = 0;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = tramp;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGUSR2);
  for (int s = 1; s < 32; s++)
    if (s != SIGKILL && s != SIGSTOP)
      sigaction(s, &sa, NULL);
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGUSR1);
  sigprocmask(SIG_SETMASK, &m, NULL);
  long pg = sysconf(_SC_PAGESIZE);

  run_ud2();
  report("ud2", fault_ud2);
  run_int3();
  report("int3", fault_int3);
  run_div0();
  report("div0", fault_div0);
  run_hlt();
  report("hlt", fault_hlt);
  run_int40();
  report("int $0x40", fault_int40);
  run_int2d_66();
  report("66 int $0x2d", fault_int2d_66);
  run_int2d_long();
  report("13 x cs int $0x2d", fault_int2d_long);
  run_int_3();
  report("int $3", fault_int_3);
  run_int_4();
  report("int $4", fault_int_4);
  run_int40();
  /* A sent signal shows the last fault's err, trapno and cr2. */
  run_kill();
  report("kill (after int $0x40)", fault_kill);

  /* Nothing is mapped at 1 MiB, natively or under tern. */
  char *un = (char *)0x100000;
  fault_addr = (uint64_t)un + 8;
  run_read();
  report("read unmapped", fault_read);
  run_kill();
  report("kill (after read)", fault_kill);

  char *ro = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  (void)*(volatile char *)ro;
  fault_addr = (uint64_t)ro + 16;
  run_write();
  report("write read-only", fault_write);

  fault_addr = (uint64_t)ro;
  fix_rsp = 8;
  run_exec();
  report("exec read-only (present)", fault_exec);

  char *ro2 = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  fault_addr = (uint64_t)ro2;
  fix_rsp = 8;
  run_exec();
  report("exec read-only (not present)", fault_exec);

  fault_addr = (uint64_t)un;
  fix_rsp = 8;
  run_exec();
  report("exec unmapped", fault_exec);

  char path[] = "/tmp/signal_frame_XXXXXX";
  int fd = mkstemp(path);
  unlink(path);
  if (ftruncate(fd, 100) != 0)
    return 1;
  char *file = mmap(NULL, 2 * pg, PROT_READ, MAP_SHARED, fd, 0);
  fault_addr = (uint64_t)file + pg + 4;
  run_bus();
  report("bus past end of file", fault_bus);
  return 0;
}
