/* /proc/self/maps as the guest reads it: a mapped file whose name is not
 * UTF-8 is listed (a name is bytes), the heap (after malloc has grown the
 * break) and the initial stack are named [heap] and [stack], each once.
 * Compared with the native run. */
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
    char name[64];
    snprintf(name, sizeof name, "/tmp/tern-maps-\xff\xfe-%d", (int)getpid());
    int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, "x", 1) != 1)
        return 1;
    void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    unlink(name);
    if (p == MAP_FAILED)
        return 2;
    /* Below malloc's mmap threshold: from the break. */
    char *small = malloc(1000);
    if (!small)
        return 3;
    static char maps[1 << 20];
    int m = open("/proc/self/maps", O_RDONLY);
    size_t len = 0;
    long n;
    while ((n = read(m, maps + len, sizeof maps - 1 - len)) > 0)
        len += n;
    maps[len] = 0;
    int lines = 0, found = 0, stack = 0, heap = 0;
    for (char *l = maps; *l; lines++) {
        char *end = strchr(l, '\n');
        if (!end)
            break;
        *end = 0;
        found += strstr(l, "tern-maps-\xff\xfe") != NULL;
        stack += strstr(l, "[stack]") != NULL;
        heap += strstr(l, "[heap]") != NULL;
        l = end + 1;
    }
    printf("lines>5 %d found %d stack %d heap %d\n", lines > 5, found, stack, heap);
    return 0;
}
