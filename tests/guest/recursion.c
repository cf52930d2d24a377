/* recursion.c - call-heavy code: many calls and returns, some deep.
 *
 * Naive fibonacci, Ackermann, Takeuchi, mutual recursion, Towers of Hanoi,
 * a recursive-descent expression parser, a binary search tree built and
 * walked recursively, and functions returning structs by value. This
 * stresses return-address prediction and block chaining in a translator. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static unsigned ack(unsigned m, unsigned n) {
  if (m == 0)
    return n + 1;
  if (n == 0)
    return ack(m - 1, 1);
  return ack(m - 1, ack(m, n - 1));
}

static int tak(int x, int y, int z) {
  if (y >= x)
    return z;
  return tak(tak(x - 1, y, z), tak(y - 1, z, x), tak(z - 1, x, y));
}

static int is_odd(unsigned n);
__attribute__((noinline)) static int is_even(unsigned n) { return n == 0 ? 1 : is_odd(n - 1); }
__attribute__((noinline)) static int is_odd(unsigned n) { return n == 0 ? 0 : is_even(n - 1); }

static uint64_t hanoi_moves, hanoi_check;
static void hanoi(int n, int from, int to, int via) {
  if (n == 0)
    return;
  hanoi(n - 1, from, via, to);
  hanoi_moves++;
  hanoi_check = hanoi_check * 31 + (uint64_t)(from * 3 + to);
  hanoi(n - 1, via, to, from);
}

/* expression parser: expr = term {(+|-) term}; term = factor {(*|/|%) factor};
 * factor = number | '(' expr ')' | '-' factor */
static const char *cur;
static int64_t expr(void);
static int64_t factor(void) {
  if (*cur == '(') {
    cur++;
    int64_t v = expr();
    cur++; /* ')' */
    return v;
  }
  if (*cur == '-') {
    cur++;
    return (int64_t)(0 - (uint64_t)factor());
  }
  int64_t v = 0;
  while (*cur >= '0' && *cur <= '9')
    v = v * 10 + (*cur++ - '0');
  return v;
}
static int64_t term(void) {
  int64_t v = factor();
  for (;;) {
    char op = *cur;
    if (op != '*' && op != '/' && op != '%')
      return v;
    cur++;
    int64_t r = factor();
    if (op == '*')
      v = (int64_t)((uint64_t)v * (uint64_t)r);
    else if (r == 0 || (r == -1 && v == INT64_MIN))
      v = 0;
    else if (op == '/')
      v /= r;
    else
      v %= r;
  }
}
static int64_t expr(void) {
  int64_t v = term();
  for (;;) {
    char op = *cur;
    if (op != '+' && op != '-')
      return v;
    cur++;
    int64_t r = term();
    v = (int64_t)(op == '+' ? (uint64_t)v + (uint64_t)r : (uint64_t)v - (uint64_t)r);
  }
}

/* generates a random nested expression of the given depth into buf */
static uint64_t seed = 77;
static unsigned rnd(unsigned n) {
  seed = seed * 6364136223846793005ULL + 1;
  return (unsigned)(seed >> 33) % n;
}
static char *gen(char *p, int depth) {
  if (depth == 0 || rnd(4) == 0)
    return p + sprintf(p, "%u", rnd(100));
  *p++ = '(';
  p = gen(p, depth - 1);
  *p++ = "+-*/%"[rnd(5)];
  p = gen(p, depth - 1);
  *p++ = ')';
  return p;
}

struct node {
  int key;
  struct node *left, *right;
};
static struct node *insert(struct node *t, int key) {
  if (!t) {
    t = calloc(1, sizeof *t);
    t->key = key;
    return t;
  }
  if (key < t->key)
    t->left = insert(t->left, key);
  else if (key > t->key)
    t->right = insert(t->right, key);
  return t;
}
static int height(const struct node *t) {
  if (!t)
    return 0;
  int l = height(t->left), r = height(t->right);
  return 1 + (l > r ? l : r);
}
static uint64_t inorder(const struct node *t, uint64_t acc) {
  if (!t)
    return acc;
  acc = inorder(t->left, acc);
  acc = acc * 1000003 + (uint64_t)t->key;
  return inorder(t->right, acc);
}
static void release(struct node *t) {
  if (t) {
    release(t->left);
    release(t->right);
    free(t);
  }
}

struct triple {
  int64_t a, b, c;
};
static struct triple step(struct triple t, int n) {
  if (n == 0)
    return t;
  struct triple u = {t.b, t.c, t.a + t.b + t.c};
  return step(u, n - 1);
}

int main(void) {
  printf("fib(27) = %llu\n", (unsigned long long)fib(27));
  printf("ack(2, 200) = %u, ack(3, 6) = %u\n", ack(2, 200), ack(3, 6));
  printf("tak(18, 12, 6) = %d\n", tak(18, 12, 6));
  printf("is_even(100001) = %d, is_odd(77777) = %d\n", is_even(100001), is_odd(77777));
  hanoi(16, 1, 3, 2);
  printf("hanoi(16): %llu moves, check %016llx\n", (unsigned long long)hanoi_moves,
         (unsigned long long)hanoi_check);
  static char buf[1 << 16];
  for (int i = 0; i < 12; i++) {
    char *end = gen(buf, 10);
    *end = 0;
    cur = buf;
    int64_t v = expr();
    printf("expr %d (%zu chars): %lld\n", i, (size_t)(end - buf), (long long)v);
  }
  struct node *root = NULL;
  for (int i = 0; i < 20000; i++)
    root = insert(root, (int)rnd(1000000));
  printf("bst height %d inorder hash %016llx\n", height(root), (unsigned long long)inorder(root, 0));
  release(root);
  struct triple t = step((struct triple){0, 0, 1}, 60);
  printf("tribonacci: %lld %lld %lld\n", (long long)t.a, (long long)t.b, (long long)t.c);
  return 0;
}
