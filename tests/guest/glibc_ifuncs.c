// Which variant of each string function glibc's IFUNC resolvers chose, by
// behaviour: the address a function pointer to it resolves to, as an offset
// from the start of the library that holds it (libc.so.6). Equal offsets
// natively and under tern mean glibc read the same CPU features and picked
// the same implementation (__strlen_evex, __memmove_avx_unaligned_erms...).
// A static build prints its own (non-PIE) addresses, which say nothing
// about the choice; the dynamic build is the one that counts.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <wchar.h>

#define FN(name) { #name, (const void *)&name }

int main(void) {
    static const struct { const char *name; const void *addr; } fns[] = {
        FN(memcpy), FN(memmove), FN(memset), FN(memcmp), FN(memchr), FN(memrchr),
        FN(rawmemchr), FN(mempcpy), FN(bcmp), FN(strlen), FN(strnlen), FN(strchr),
        FN(strchrnul), FN(strrchr), FN(strcmp), FN(strncmp), FN(strcpy), FN(stpcpy),
        FN(strncpy), FN(strcat), FN(strncat), FN(strcasecmp), FN(strncasecmp),
        FN(strstr), FN(strcspn), FN(strspn), FN(strpbrk), FN(wcslen), FN(wcsnlen),
        FN(wcschr), FN(wcscmp), FN(wmemchr), FN(wmemset), FN(wmemcmp),
    };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        Dl_info info;
        const void *p = fns[i].addr;
        if (dladdr(p, &info) && info.dli_fbase) {
            const char *lib = strrchr(info.dli_fname, '/');
            printf("%-12s %s+%#lx\n", fns[i].name, lib ? lib + 1 : info.dli_fname,
                   (unsigned long)((uintptr_t)p - (uintptr_t)info.dli_fbase));
        } else {
            printf("%-12s %p\n", fns[i].name, p);
        }
    }
    return 0;
}
