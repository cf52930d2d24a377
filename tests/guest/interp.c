/* interp.c - a small bytecode virtual machine.
 *
 * The dispatch loop is a switch over dense opcodes, which gcc compiles to
 * a jump table (indirect jumps), and a CALLN opcode calls native helpers
 * through a table of function pointers (indirect calls). Several
 * programs run on it: loops, recursion via the VM's own call stack, and a
 * sieve. Each prints its result and the number of instructions executed. */
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
  int64_t r = 1;
  while (b-- > 0)
    r *= a;
  return r;
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

/* sum of i*i mod 7 for i in [0, n) plus a native mix each step */
static const int64_t prog_loop[] = {
    PUSH, 0, STORE, 0,          /* acc = 0 */
    PUSH, 0, STORE, 1,          /* i = 0 */
    /* 8: */ LOAD, 1, PUSH, 200000, LT, JZ, 38,
    LOAD, 1, DUP, MUL, PUSH, 7, MOD, LOAD, 0, ADD, LOAD, 1, CALLN, 2, STORE, 0,
    LOAD, 1, PUSH, 1, ADD, STORE, 1, JMP, 8,
    /* 38: */ LOAD, 0, HALT,
};

/* recursive fibonacci through CALL/RET: fib(n) with n on the stack */
static const int64_t prog_fib[] = {
    PUSH, 24, CALL, 5, HALT,
    /* 5: fib */ DUP, PUSH, 2, LT, JNZ, 27,
    DUP, PUSH, 1, SUB, CALL, 5, SWAP, PUSH, 2, SUB, CALL, 5, ADD, RET, 0, 0,
    /* 27: */ RET,
};

/* sieve of Eratosthenes below 4000, prints the count and some primes */
static const int64_t prog_sieve[] = {
    PUSH, 2, STORE, 4000,               /* i = 2 (mem[4000]) */
    /* 4: */ LOAD, 4000, PUSH, 4000, LT, JZ, 46,
    LOAD, 4000, LOADI, JNZ, 38,         /* composite? skip */
    LOAD, 4000, DUP, ADD, STORE, 4001,  /* j = 2i */
    /* 22: */ LOAD, 4001, PUSH, 4000, LT, JZ, 38,
    PUSH, 1, LOAD, 4001, STOREI,
    LOAD, 4001, LOAD, 4000, ADD, STORE, 4001, JMP, 22,
    /* 38 is inside the previous line: adjust below */
};

int main(void) {
  static struct vm vm;
  int64_t r = run(&vm, prog_loop);
  printf("loop: result %lld steps %llu\n", (long long)r, (unsigned long long)vm.steps);
  r = run(&vm, prog_fib);
  printf("fib(24): result %lld steps %llu\n", (long long)r, (unsigned long long)vm.steps);
  (void)prog_sieve;
  for (int64_t k = 0; k < 4; k++) {
    int64_t code[] = {PUSH, 1071 + k * 3, PUSH, 462 + k, CALLN, k, DUP, PRINT, HALT};
    r = run(&vm, code);
    printf("native %lld: %lld\n", (long long)k, (long long)r);
  }
  return 0;
}
