/* insn_string.c - string instructions with DF=0 and DF=1: rep movs and
 * rep stos at every element size, repe/repne cmpsb and scasb (and wider
 * single-shot forms), lods, with overlapping source and destination and
 * counts including 0. Prints final rsi/rdi (as buffer offsets), rcx, rax,
 * the flags and a hash of the buffer. The direction flag is cleared again
 * inside the same asm statement, as the ABI requires. */
#include "insn_common.h"

#define BUF 2048

#define STRING_OPS(X)                                                       \
  X(rep_movsb, "rep movsb") X(rep_movsw, "rep movsw") X(rep_movsl, "rep movsl") \
  X(rep_movsq, "rep movsq") X(rep_stosb, "rep stosb") X(rep_stosw, "rep stosw") \
  X(rep_stosl, "rep stosl") X(rep_stosq, "rep stosq") X(repe_cmpsb, "repe cmpsb") \
  X(repne_cmpsb, "repne cmpsb") X(repe_scasb, "repe scasb") X(repne_scasb, "repne scasb") \
  X(repe_cmpsq, "repe cmpsq") X(repne_scasw, "repne scasw") X(movsq, "movsq") \
  X(movsb, "movsb") X(stosl, "stosl") X(lodsb, "lodsb") X(lodsq, "lodsq") \
  X(cmpsw, "cmpsw") X(scasl, "scasl") X(rep_lodsb, "rep lodsb")

#define NAME_OF(name, insn) #name,
static const char *const op_names[] = {STRING_OPS(NAME_OF)};
#define N_OPS (sizeof op_names / sizeof op_names[0])

static uint8_t buf[BUF] __attribute__((aligned(16)));

/* Runs op number k; all operands in/out through the pointers. */
static void run_op(unsigned k, uint64_t *rsi, uint64_t *rdi, uint64_t *rcx, uint64_t *rax,
                   uint64_t *fl) {
  uint64_t s = *rsi, d = *rdi, c = *rcx, a = *rax, f = *fl;
  unsigned idx = 0;
#define RUN_CASE(name, insn)                                                           \
  if (k == idx)                                                                        \
    __asm__ volatile(SET_FLAGS insn "\n\t" GET_FLAGS "cld\n\t"                         \
                     : "+S"(s), "+D"(d), "+c"(c), "+a"(a), [fl] "+r"(f) : : "cc", "memory"); \
  idx++;
  STRING_OPS(RUN_CASE)
  *rsi = s, *rdi = d, *rcx = c, *rax = a, *fl = f;
}

static void test_strings(void) {
  if (!family("string_ops"))
    return;
  for (int i = 0; i < 2 * CASES; i++) {
    unsigned k = (unsigned)rnd_below(N_OPS);
    int alphabet = 1 + (int)rnd_below(3);
    for (int j = 0; j < BUF; j += 8) {
      uint64_t r = rnd64();
      for (int t = 0; t < 8; t++)
        buf[j + t] = (uint8_t)('a' + ((r >> (8 * t)) & 0xff) % (unsigned)alphabet);
    }
    uint64_t so = 600 + rnd_below(800), dof = 600 + rnd_below(800);
    if (rnd_below(4) == 0) /* close overlap */
      dof = so + rnd_below(17) - 8;
    uint64_t rsi = (uint64_t)(uintptr_t)(buf + so), rdi = (uint64_t)(uintptr_t)(buf + dof);
    uint64_t rcx = rnd_below(8) ? rnd_below(65) : 0;
    uint64_t rax = 0x6161616161616161ull + rnd_below((uint64_t)alphabet) +
                   (rnd64() & 0xffffffff00000000ull) * (rnd_below(2));
    uint64_t df = rnd_below(2) ? F_DF : 0;
    uint64_t fl = flags_in() | df;
    uint64_t fin = fl;
    run_op(k, &rsi, &rdi, &rcx, &rax, &fl);
    out("%s so=%" PRIu64 " do=%" PRIu64 " df=%d f=%03" PRIx64 ": rsi=%+" PRId64 " rdi=%+" PRId64
        " rcx=%" PRIx64 " rax=%016" PRIx64 " f=%03" PRIx64 " df=%d buf=%016" PRIx64,
        op_names[k], so, dof, df != 0, fin & F_ARITH,
        (int64_t)(rsi - (uint64_t)(uintptr_t)buf), (int64_t)(rdi - (uint64_t)(uintptr_t)buf), rcx,
        rax, fl & F_ARITH, (fl & F_DF) != 0, fnv_bytes(FNV_INIT, buf, BUF));
  }
  family_end();
}

/* After all that, DF must be clear again: memcpy relies on it. */
static void check_df_clear(void) {
  uint64_t f;
  __asm__ volatile("pushfq\n\tpopq %0" : "=r"(f));
  printf("DF clear at end: %d\n", (f & F_DF) == 0);
}

int main(int argc, char **argv) {
  insn_init(argc, argv);
  test_strings();
  check_df_clear();
  return 0;
}
