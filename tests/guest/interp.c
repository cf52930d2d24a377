/* interp.c - a small bytecode virtual machine.
 *
 * The dispatch loop is a switch over dense opcodes, which gcc compiles to
 * a jump table (indirect jumps), and a CALLN opcode calls native helpers
 * through a table of function pointers (indirect calls). Several
 * programs, assembled with labels, run on it: a loop, recursion via the
 * VM's own call stack, and a sieve. Each prints its result and the number of instructions executed. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum op {
  PUSH, POP, DUP, SWAP, OVER, ADD, SUB, MUL, DIVM, MOD, AND, OR, XOR, SHL, SHR, NEG,
  LT, EQ, JMP, JZ, JNZ, CALL, RET, LOAD, STORE, LOADI, STOREI, CALLN, PRINT, HALT,
};

typedef int64_t (*native_fn)(int64_t, int64_t);
static int64_t n_gcd(int64_t a, int64_t b) {
  while (b) {
    int64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}
static int64_t n_max(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t n_mix(int64_t a, int64_t b) { return (a * 0x9e3779b97f4a7c15LL) ^ (b >> 3); }
static int64_t n_pow(int64_t a, int64_t b) {
  uint64_t r = 1;
  while (b-- > 0)
    r *= (uint64_t)a;
  return (int64_t)r;
}
static const native_fn natives[] = {n_gcd, n_max, n_mix, n_pow};

struct vm {
  int64_t stack[1024];
  int64_t mem[4096];
  int rstack[256];
  int sp, rsp;
  uint64_t steps;
};

static int64_t run(struct vm *vm, const int64_t *code) {
  int pc = 0;
  vm->sp = vm->rsp = 0;
  vm->steps = 0;
  for (;;) {
    vm->steps++;
    int64_t op = code[pc++], a, b;
    switch ((enum op)op) {
    case PUSH: vm->stack[vm->sp++] = code[pc++]; break;
    case POP: vm->sp--; break;
    case DUP: vm->stack[vm->sp] = vm->stack[vm->sp - 1]; vm->sp++; break;
    case SWAP: a = vm->stack[vm->sp - 1]; vm->stack[vm->sp - 1] = vm->stack[vm->sp - 2]; vm->stack[vm->sp - 2] = a; break;
    case OVER: vm->stack[vm->sp] = vm->stack[vm->sp - 2]; vm->sp++; break;
#define BIN(name, expr) case name: b = vm->stack[--vm->sp]; a = vm->stack[vm->sp - 1]; vm->stack[vm->sp - 1] = (expr); break;
    BIN(ADD, (int64_t)((uint64_t)a + (uint64_t)b))
    BIN(SUB, (int64_t)((uint64_t)a - (uint64_t)b))
    BIN(MUL, (int64_t)((uint64_t)a * (uint64_t)b))
    BIN(DIVM, b ? a / b : 0)
    BIN(MOD, b ? a % b : 0)
    BIN(AND, a & b)
    BIN(OR, a | b)
    BIN(XOR, a ^ b)
    BIN(SHL, (int64_t)((uint64_t)a << (b & 63)))
    BIN(SHR, (int64_t)((uint64_t)a >> (b & 63)))
    BIN(LT, a < b)
    BIN(EQ, a == b)
    case NEG: vm->stack[vm->sp - 1] = -vm->stack[vm->sp - 1]; break;
    case JMP: pc = (int)code[pc]; break;
    case JZ: pc = vm->stack[--vm->sp] ? pc + 1 : (int)code[pc]; break;
    case JNZ: pc = vm->stack[--vm->sp] ? (int)code[pc] : pc + 1; break;
    case CALL: vm->rstack[vm->rsp++] = pc + 1; pc = (int)code[pc]; break;
    case RET: if (vm->rsp == 0) return vm->stack[vm->sp - 1]; pc = vm->rstack[--vm->rsp]; break;
    case LOAD: vm->stack[vm->sp++] = vm->mem[code[pc++]]; break;
    case STORE: vm->mem[code[pc++]] = vm->stack[--vm->sp]; break;
    case LOADI: vm->stack[vm->sp - 1] = vm->mem[vm->stack[vm->sp - 1] & 4095]; break;
    case STOREI: a = vm->stack[--vm->sp]; b = vm->stack[--vm->sp]; vm->mem[a & 4095] = b; break;
    case CALLN: b = vm->stack[--vm->sp]; a = vm->stack[vm->sp - 1]; vm->stack[vm->sp - 1] = natives[code[pc++]](a, b); break;
    case PRINT: printf("  vm print %lld\n", (long long)vm->stack[--vm->sp]); break;
    case HALT: return vm->sp ? vm->stack[vm->sp - 1] : 0;
    }
  }
}

/* A tiny assembler: code is appended to a buffer, jump targets are labels
 * resolved when the program is finished. */
struct asm_buf {
  int64_t code[512];
  int len;
  int label_pos[32];
  int fixup_at[64], fixup_label[64], nfix;
};

static void emit(struct asm_buf *a, int64_t v) { a->code[a->len++] = v; }
static void emit2(struct asm_buf *a, int64_t op, int64_t arg) {
  emit(a, op);
  emit(a, arg);
}
static void label(struct asm_buf *a, int l) { a->label_pos[l] = a->len; }
static void jump(struct asm_buf *a, int64_t op, int l) {
  emit(a, op);
  a->fixup_at[a->nfix] = a->len;
  a->fixup_label[a->nfix++] = l;
  emit(a, -1);
}
static const int64_t *finish(struct asm_buf *a) {
  for (int i = 0; i < a->nfix; i++)
    a->code[a->fixup_at[i]] = a->label_pos[a->fixup_label[i]];
  return a->code;
}

/* acc = sum over i < n of (i*i mod 7 + acc) mixed by a native helper */
static const int64_t *prog_loop(struct asm_buf *a, int64_t n) {
  enum { TOP, END };
  emit2(a, PUSH, 0), emit2(a, STORE, 0);
  emit2(a, PUSH, 0), emit2(a, STORE, 1);
  label(a, TOP);
  emit2(a, LOAD, 1), emit2(a, PUSH, n), emit(a, LT), jump(a, JZ, END);
  emit2(a, LOAD, 1), emit(a, DUP), emit(a, MUL), emit2(a, PUSH, 7), emit(a, MOD);
  emit2(a, LOAD, 0), emit(a, ADD), emit2(a, LOAD, 1), emit2(a, CALLN, 2), emit2(a, STORE, 0);
  emit2(a, LOAD, 1), emit2(a, PUSH, 1), emit(a, ADD), emit2(a, STORE, 1), jump(a, JMP, TOP);
  label(a, END);
  emit2(a, LOAD, 0), emit(a, HALT);
  return finish(a);
}

/* recursive fibonacci through CALL/RET, argument and result on the stack */
static const int64_t *prog_fib(struct asm_buf *a, int64_t n) {
  enum { FIB, SMALL };
  emit2(a, PUSH, n), jump(a, CALL, FIB), emit(a, HALT);
  label(a, FIB);
  emit(a, DUP), emit2(a, PUSH, 2), emit(a, LT), jump(a, JNZ, SMALL);
  emit(a, DUP), emit2(a, PUSH, 1), emit(a, SUB), jump(a, CALL, FIB);
  emit(a, SWAP), emit2(a, PUSH, 2), emit(a, SUB), jump(a, CALL, FIB), emit(a, ADD);
  label(a, SMALL);
  emit(a, RET);
  return finish(a);
}

/* sieve of Eratosthenes below n (< 4000): mem[i] = 1 marks composites;
 * prints every 100th prime and returns the count */
static const int64_t *prog_sieve(struct asm_buf *a, int64_t n) {
  enum { OUTER, INNER, NEXT, COUNT, CLOOP, CNEXT, SKIPPRINT, DONE };
  const int I = 4000, J = 4001, C = 4002;
  emit2(a, PUSH, 2), emit2(a, STORE, I);
  label(a, OUTER);
  emit2(a, LOAD, I), emit(a, DUP), emit(a, MUL), emit2(a, PUSH, n), emit(a, LT), jump(a, JZ, COUNT);
  emit2(a, LOAD, I), emit(a, LOADI), jump(a, JNZ, NEXT);
  emit2(a, LOAD, I), emit(a, DUP), emit(a, MUL), emit2(a, STORE, J);
  label(a, INNER);
  emit2(a, LOAD, J), emit2(a, PUSH, n), emit(a, LT), jump(a, JZ, NEXT);
  emit2(a, PUSH, 1), emit2(a, LOAD, J), emit(a, STOREI);
  emit2(a, LOAD, J), emit2(a, LOAD, I), emit(a, ADD), emit2(a, STORE, J), jump(a, JMP, INNER);
  label(a, NEXT);
  emit2(a, LOAD, I), emit2(a, PUSH, 1), emit(a, ADD), emit2(a, STORE, I), jump(a, JMP, OUTER);
  label(a, COUNT);
  emit2(a, PUSH, 0), emit2(a, STORE, C), emit2(a, PUSH, 2), emit2(a, STORE, I);
  label(a, CLOOP);
  emit2(a, LOAD, I), emit2(a, PUSH, n), emit(a, LT), jump(a, JZ, DONE);
  emit2(a, LOAD, I), emit(a, LOADI), jump(a, JNZ, CNEXT);
  emit2(a, LOAD, C), emit2(a, PUSH, 1), emit(a, ADD), emit(a, DUP), emit2(a, STORE, C);
  emit2(a, PUSH, 100), emit(a, MOD), jump(a, JNZ, SKIPPRINT);
  emit2(a, LOAD, I), emit(a, PRINT);
  label(a, SKIPPRINT);
  label(a, CNEXT);
  emit2(a, LOAD, I), emit2(a, PUSH, 1), emit(a, ADD), emit2(a, STORE, I), jump(a, JMP, CLOOP);
  label(a, DONE);
  emit2(a, LOAD, C), emit(a, HALT);
  return finish(a);
}

int main(void) {
  static struct vm vm;
  static struct asm_buf a1, a2, a3;
  int64_t r = run(&vm, prog_loop(&a1, 100000));
  printf("loop: result %lld steps %llu\n", (long long)r, (unsigned long long)vm.steps);
  r = run(&vm, prog_fib(&a2, 22));
  printf("fib(22): result %lld steps %llu\n", (long long)r, (unsigned long long)vm.steps);
  r = run(&vm, prog_sieve(&a3, 4000));
  printf("sieve(4000): %lld primes, steps %llu\n", (long long)r, (unsigned long long)vm.steps);
  for (int64_t k = 0; k < 4; k++) {
    int64_t code[] = {PUSH, 1071 + k * 3, PUSH, 462 + k, CALLN, k, DUP, PRINT, HALT};
    r = run(&vm, code);
    printf("native %lld: %lld\n", (long long)k, (long long)r);
  }
  return 0;
}
