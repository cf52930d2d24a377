/* The program's own image as the loader left it: for each mapping that
 * overlaps [__executable_start, _end), its offset from the image's start,
 * length, permissions, whether it maps the program's file, its anonymous
 * (written) kB, and for those neither writable nor written a hash of
 * their bytes. Differential: loader.rs runs it, and
 * copies of it with edited headers (fields the kernel ignores, a read-only
 * segment whose file size was cut), natively and under tern. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern char __executable_start[], _end[];

static uint64_t fnv(const unsigned char *p, uint64_t n) {
    uint64_t h = 1469598103934665603ull;
    for (uint64_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

int main(void) {
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n < 0)
        return 2;
    exe[n] = 0;
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return 3;
    uintptr_t lo = (uintptr_t)__executable_start, hi = (uintptr_t)_end;
    uintptr_t base = lo & ~(uintptr_t)4095;
    char line[8192];
    int count = 0, open = 0;
    unsigned long a = 0, b = 0;
    char perms[8] = "", kind[8] = "";
    for (;;) {
        int more = fgets(line, sizeof line, f) != NULL;
        unsigned long na, nb, anon_kb;
        int name_at = 0;
        int header = more && sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &na, &nb, perms, &name_at) >= 3;
        if (open && more && sscanf(line, "Anonymous: %lu kB", &anon_kb) == 1) {
            printf("+%#lx %#lx %s %s anon=%lukB", (unsigned long)(a - base), b - a, perms, kind, anon_kb);
            if (perms[0] == 'r' && perms[1] != 'w' && anon_kb == 0)
                printf(" %016llx", (unsigned long long)fnv((const unsigned char *)a, b - a));
            printf("\n");
            count++;
            open = 0;
        }
        if (!more)
            break;
        if (!header)
            continue;
        a = na, b = nb;
        open = !(b <= lo || a >= hi);
        char *name = line + name_at;
        name[strcspn(name, "\n")] = 0;
        strcpy(kind, strcmp(name, exe) == 0 ? "file" : name[0] ? "other" : "anon");
    }
    fclose(f);
    printf("%d mappings\n", count);
    return count > 0 ? 0 : 4;
}
