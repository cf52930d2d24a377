/* The permissions /proc/self/maps shows for a mapping of each protection,
 * private and shared, mapped so and changed to it by mprotect, and the
 * flags ioctl(PROCMAP_QUERY) gives it (LTP mmap04: tern gave PROT_EXEC
 * without PROT_READ a read, shown `rwx` for `-wx`). Compared with the
 * native run. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

struct query {
    uint64_t size, query_flags, query_addr, vma_start, vma_end, vma_flags, vma_page_size, vma_offset, inode;
    uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
    uint64_t vma_name_addr, build_id_addr;
};
#define PROCMAP_QUERY _IOWR('f', 17, struct query)

static void show(const char *how, int prot, int shared, const char *p) {
    char want[32], line[512];
    snprintf(want, sizeof want, "%lx-", (unsigned long)p);
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, want, strlen(want)))
            printf("%s prot %d %s: %.4s\n", how, prot, shared ? "shared" : "private", strchr(line, ' ') + 1);
    fclose(f);
    /* The same mapping's flags by PROCMAP_QUERY (ENOTTY before Linux 6.11). */
    int fd = open("/proc/self/maps", O_RDONLY);
    struct query q = {.size = sizeof q, .query_addr = (uintptr_t)p};
    if (ioctl(fd, PROCMAP_QUERY, &q) == 0)
        printf("  query flags %#llx\n", (unsigned long long)q.vma_flags);
    else
        printf("  query: %s\n", strerror(errno));
    close(fd);
}

int main(void) {
    int rwx = PROT_READ | PROT_WRITE | PROT_EXEC;
    for (int prot = 0; prot <= rwx; prot++)
        for (int shared = 0; shared < 2; shared++) {
            int flags = (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS;
            char *p = mmap(0, 4096, prot, flags, -1, 0);
            if (p == MAP_FAILED)
                return 1;
            show("mmap", prot, shared, p);
            munmap(p, 4096);
            p = mmap(0, 4096, PROT_READ | PROT_WRITE, flags, -1, 0);
            if (p == MAP_FAILED || mprotect(p, 4096, prot))
                return 2;
            show("mprotect", prot, shared, p);
            munmap(p, 4096);
        }
    return 0;
}
