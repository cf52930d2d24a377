/* bpf(2) through raw syscalls, as libbpf and LTP's bpf_map01 and
 * bpf_prog01-07 drive it: array, hash and per-CPU maps (update, lookup,
 * next key, delete, lookup-and-delete, batch lookup), a socket filter
 * loaded with a verifier log and attached to a socket that counts the
 * datagrams it sees in a map, a test run of it, the info of both objects
 * (with the arrays the kernel fills), and the errors: bad pointers in the
 * attributes and in the memory they name, an unknown command, a size
 * past a page. Compared with the native run; a host that refuses bpf
 * (kernel.unprivileged_bpf_disabled without privileges) prints the same
 * refusal natively and under tern. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static long sys_bpf(int cmd, union bpf_attr *attr, unsigned size) {
    return syscall(SYS_bpf, cmd, attr, size);
}

static void show(const char *what, long r) {
    printf("%-40s %ld %s\n", what, r, r < 0 ? strerror(errno) : "");
}

static int map_create(int type, unsigned key, unsigned value, unsigned max) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.map_type = type;
    a.key_size = key;
    a.value_size = value;
    a.max_entries = max;
    return sys_bpf(BPF_MAP_CREATE, &a, sizeof(a));
}

static long elem(int cmd, int fd, const void *key, void *value, uint64_t flags) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.map_fd = fd;
    a.key = (uint64_t)(uintptr_t)key;
    a.value = (uint64_t)(uintptr_t)value;
    a.flags = flags;
    return sys_bpf(cmd, &a, sizeof(a));
}

static int ncpus(void) {
    char b[64] = {0};
    FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
    int lo = 0, hi = 0;
    if (f && fgets(b, sizeof(b), f) && sscanf(b, "%d-%d", &lo, &hi) < 2)
        hi = lo;
    if (f)
        fclose(f);
    return hi + 1;
}

static void arrays(void) {
    int fd = map_create(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
    show("array map", fd < 0 ? fd : 0);
    if (fd < 0)
        return;
    uint32_t k = 1, next = 0;
    uint64_t v = 42, got = 0;
    show("update 1", elem(BPF_MAP_UPDATE_ELEM, fd, &k, &v, BPF_ANY));
    show("lookup 1", elem(BPF_MAP_LOOKUP_ELEM, fd, &k, &got, 0));
    printf("value %llu\n", (unsigned long long)got);
    k = 7;
    show("lookup 7 (past the end)", elem(BPF_MAP_LOOKUP_ELEM, fd, &k, &got, 0));
    show("delete (arrays cannot)", elem(BPF_MAP_DELETE_ELEM, fd, &k, NULL, 0));
    show("next key of none", elem(BPF_MAP_GET_NEXT_KEY, fd, NULL, &next, 0));
    printf("first key %u\n", next);
    k = 3;
    show("next key of the last", elem(BPF_MAP_GET_NEXT_KEY, fd, &k, &next, 0));
    show("update with no key", elem(BPF_MAP_UPDATE_ELEM, fd, NULL, &v, BPF_ANY));
    k = 1;
    show("lookup into a bad address", elem(BPF_MAP_LOOKUP_ELEM, fd, &k, (void *)16, 0));
    show("update from a bad address", elem(BPF_MAP_UPDATE_ELEM, fd, &k, (void *)16, BPF_ANY));
    close(fd);
}

static void hashes(void) {
    int fd = map_create(BPF_MAP_TYPE_HASH, 8, 16, 16);
    show("hash map", fd < 0 ? fd : 0);
    if (fd < 0)
        return;
    for (uint64_t k = 10; k < 15; k++) {
        uint64_t v[2] = {k * 100, k * 1000};
        elem(BPF_MAP_UPDATE_ELEM, fd, &k, v, BPF_NOEXIST);
    }
    uint64_t k = 12, v[2] = {0, 0};
    show("insert an existing key", elem(BPF_MAP_UPDATE_ELEM, fd, &k, v, BPF_NOEXIST));
    uint64_t cur = 0, next = 0, sum = 0;
    int n = 0;
    const void *from = NULL;
    while (elem(BPF_MAP_GET_NEXT_KEY, fd, from, &next, 0) == 0) {
        sum += next;
        n++;
        cur = next;
        from = &cur;
    }
    printf("walked %d keys, sum %llu (%s)\n", n, (unsigned long long)sum, strerror(errno));
    show("lookup and delete 12", elem(BPF_MAP_LOOKUP_AND_DELETE_ELEM, fd, &k, v, 0));
    printf("value %llu %llu\n", (unsigned long long)v[0], (unsigned long long)v[1]);
    show("lookup 12 again", elem(BPF_MAP_LOOKUP_ELEM, fd, &k, v, 0));

    uint64_t keys[16], vals[32];
    uint32_t out_batch = 0;
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.batch.map_fd = fd;
    a.batch.out_batch = (uint64_t)(uintptr_t)&out_batch;
    a.batch.keys = (uint64_t)(uintptr_t)keys;
    a.batch.values = (uint64_t)(uintptr_t)vals;
    a.batch.count = 16;
    long r = sys_bpf(BPF_MAP_LOOKUP_BATCH, &a, sizeof(a));
    sum = 0;
    for (unsigned i = 0; i < a.batch.count && i < 16; i++)
        sum += keys[i] + vals[2 * i];
    printf("batch lookup %ld (%s): %u entries, sum %llu\n", r, r < 0 ? strerror(errno) : "", a.batch.count,
           (unsigned long long)sum);
    close(fd);
}

static void percpu(void) {
    int fd = map_create(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 4, 2);
    show("per-CPU array map", fd < 0 ? fd : 0);
    if (fd < 0)
        return;
    int n = ncpus();
    uint64_t *v = calloc((size_t)n, 8);
    for (int i = 0; i < n; i++)
        v[i] = i + 1;
    uint32_t k = 1;
    show("per-CPU update", elem(BPF_MAP_UPDATE_ELEM, fd, &k, v, BPF_ANY));
    memset(v, 0, (size_t)n * 8);
    show("per-CPU lookup", elem(BPF_MAP_LOOKUP_ELEM, fd, &k, v, 0));
    uint64_t sum = 0;
    for (int i = 0; i < n; i++)
        sum += v[i];
    printf("per-CPU sum is n(n+1)/2: %d\n", sum == (uint64_t)n * (n + 1) / 2);
    free(v);
    close(fd);
}

/* A socket filter that adds one to its map's element 0 for every packet
 * and keeps it whole. */
static int load_counter(int map, char *log, unsigned log_size) {
    struct bpf_insn prog[] = {
        {.code = BPF_ST | BPF_MEM | BPF_W, .dst_reg = BPF_REG_10, .off = -4, .imm = 0},
        {.code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_2, .src_reg = BPF_REG_10},
        {.code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = BPF_REG_2, .imm = -4},
        {.code = BPF_LD | BPF_DW | BPF_IMM, .dst_reg = BPF_REG_1, .src_reg = BPF_PSEUDO_MAP_FD, .imm = map},
        {0},
        {.code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_map_lookup_elem},
        {.code = BPF_JMP | BPF_JEQ | BPF_K, .dst_reg = BPF_REG_0, .off = 2, .imm = 0},
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1, .imm = 1},
        {.code = BPF_STX | BPF_ATOMIC | BPF_DW, .dst_reg = BPF_REG_0, .src_reg = BPF_REG_1, .imm = BPF_ADD},
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = -1},
        {.code = BPF_JMP | BPF_EXIT},
    };
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    a.insns = (uint64_t)(uintptr_t)prog;
    a.insn_cnt = sizeof(prog) / sizeof(prog[0]);
    a.license = (uint64_t)(uintptr_t) "GPL";
    a.log_buf = (uint64_t)(uintptr_t)log;
    a.log_size = log_size;
    a.log_level = log ? 1 : 0;
    strcpy(a.prog_name, "tern_counter");
    return sys_bpf(BPF_PROG_LOAD, &a, sizeof(a));
}

static void programs(void) {
    int map = map_create(BPF_MAP_TYPE_ARRAY, 4, 8, 1);
    if (map < 0)
        return;
    static char log[65536];
    int prog = load_counter(map, log, sizeof(log));
    show("load a socket filter", prog < 0 ? prog : 0);
    printf("verifier log written: %d\n", log[0] != 0);
    if (prog < 0) {
        close(map);
        return;
    }

    int s[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, s);
    show("attach to a socket", setsockopt(s[1], SOL_SOCKET, SO_ATTACH_BPF, &prog, sizeof(prog)));
    char buf[32];
    for (int i = 0; i < 3; i++) {
        send(s[0], "packet", 6, 0);
        recv(s[1], buf, sizeof(buf), 0);
    }
    uint32_t k = 0;
    uint64_t seen = 0;
    elem(BPF_MAP_LOOKUP_ELEM, map, &k, &seen, 0);
    printf("packets the filter counted: %llu\n", (unsigned long long)seen);

    char data[64] = {0}, out[128];
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.test.prog_fd = prog;
    a.test.data_in = (uint64_t)(uintptr_t)data;
    a.test.data_size_in = sizeof(data);
    a.test.data_out = (uint64_t)(uintptr_t)out;
    a.test.data_size_out = sizeof(out);
    a.test.repeat = 2;
    long r = sys_bpf(BPF_PROG_TEST_RUN, &a, sizeof(a));
    printf("test run %ld (%s): retval %u, data out %u\n", r, r < 0 ? strerror(errno) : "", a.test.retval,
           a.test.data_size_out);
    elem(BPF_MAP_LOOKUP_ELEM, map, &k, &seen, 0);
    printf("after the test run: %llu\n", (unsigned long long)seen);

    struct bpf_map_info mi;
    memset(&mi, 0, sizeof(mi));
    memset(&a, 0, sizeof(a));
    a.info.bpf_fd = map;
    a.info.info_len = sizeof(mi);
    a.info.info = (uint64_t)(uintptr_t)&mi;
    show("map info", sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)));
    printf("type %u key %u value %u max %u\n", mi.type, mi.key_size, mi.value_size, mi.max_entries);

    struct bpf_prog_info pi;
    uint32_t ids[4] = {0};
    static uint8_t insns[4096];
    memset(&pi, 0, sizeof(pi));
    pi.nr_map_ids = 4;
    pi.map_ids = (uint64_t)(uintptr_t)ids;
    pi.xlated_prog_len = sizeof(insns);
    pi.xlated_prog_insns = (uint64_t)(uintptr_t)insns;
    memset(&a, 0, sizeof(a));
    a.info.bpf_fd = prog;
    a.info.info_len = sizeof(pi);
    a.info.info = (uint64_t)(uintptr_t)&pi;
    r = sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a));
    int filled = 0;
    for (unsigned i = 0; i < sizeof(insns); i++)
        filled |= insns[i];
    printf("prog info %ld: type %u, name %s, maps %u (the map: %d), instructions filled: %d\n", r, pi.type,
           pi.name, pi.nr_map_ids, ids[0] == mi.id, filled != 0);
    pi.map_ids = 16;
    r = sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a));
    show("prog info into a bad address", r);

    close(s[0]);
    close(s[1]);
    close(prog);
    close(map);
}

static void errors(void) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    show("attributes at a bad address", sys_bpf(BPF_MAP_CREATE, (void *)16, sizeof(a)));
    show("an unknown command", sys_bpf(999, &a, sizeof(a)));
    static char big[8192];
    show("a size past a page", sys_bpf(BPF_MAP_CREATE, (union bpf_attr *)big, sizeof(big)));
    int map = map_create(BPF_MAP_TYPE_ARRAY, 4, 8, 1);
    static char log[256];
    memset(&a, 0, sizeof(a));
    a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    a.insns = 16;
    a.insn_cnt = 2;
    a.license = (uint64_t)(uintptr_t) "GPL";
    show("instructions at a bad address", sys_bpf(BPF_PROG_LOAD, &a, sizeof(a)));
    /* A program the verifier rejects (no exit): its log says why. */
    struct bpf_insn bad[] = {{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0}};
    a.insns = (uint64_t)(uintptr_t)bad;
    a.insn_cnt = 1;
    a.log_buf = (uint64_t)(uintptr_t)log;
    a.log_size = sizeof(log);
    a.log_level = 1;
    show("a program with no exit", sys_bpf(BPF_PROG_LOAD, &a, sizeof(a)));
    printf("log: %.60s\n", log);
    if (map >= 0)
        close(map);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    arrays();
    hashes();
    percpu();
    programs();
    errors();
    return 0;
}
