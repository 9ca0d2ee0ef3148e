/*
 * dlfcn.c - the drop-in <dlfcn.h> names of libstaticdl.a, defined strongly.
 *
 * Owns the C library names `dlopen`, `dlsym`, `dlvsym`, `dlclose`, `dlerror`,
 * `dladdr`, `dladdr1` and `dlinfo`, each a thin forward to the archive's Rust
 * implementation (`staticdl_capi_*`, src/dlfcn.rs and src/address.rs). They sit
 * in an archive member of their own so that the static linker takes them only
 * for a program that calls one of them with `-lstaticdl` before the C library,
 * and then takes all of them: musl's static libc has a stub for each (its weak
 * `dlopen`, `dladdr` and its strong `dlsym`, `dlclose`, `dlinfo`, `dlerror`), and
 * if one of its members joined the link next to this one, its `dlerror` would
 * clash with the one here. `dl_iterate_phdr`, the ninth name of the set, is the
 * provider's (staticdl-libc), which every host linking the archive gets.
 *
 * `staticdl__dlfcn_dlopen` is this member's mark: `staticdl_linked_first()`
 * (check.c) compares the `dlopen` the program got with it.
 *
 * Does not own what the functions do (the Rust side) or the declarations a
 * program sees (the C library's <dlfcn.h>, and include/staticdl.h for the names
 * musl's header lacks).
 */

#include <stddef.h>

void *staticdl_capi_dlopen(const char *file, int mode, void *caller);
void *staticdl_capi_dlsym(void *handle, const char *name, const char *version, void *caller);
int staticdl_capi_dlclose(void *handle);
char *staticdl_capi_dlerror(void);
int staticdl_capi_dladdr(const void *addr, void *info, void **extra, int flags);
int staticdl_capi_dlinfo(void *handle, int request, void *arg);

void *dlopen(const char *file, int mode)
{
    return staticdl_capi_dlopen(file, mode, __builtin_return_address(0));
}

/* The mark check.c compares with: the address of this member's dlopen. */
extern __typeof__(dlopen) staticdl__dlfcn_dlopen __attribute__((alias("dlopen")));

void *dlsym(void *restrict handle, const char *restrict name)
{
    return staticdl_capi_dlsym(handle, name, NULL, __builtin_return_address(0));
}

void *dlvsym(void *restrict handle, const char *restrict name, const char *restrict version)
{
    return staticdl_capi_dlsym(handle, name, version, __builtin_return_address(0));
}

int dlclose(void *handle)
{
    return staticdl_capi_dlclose(handle);
}

char *dlerror(void)
{
    return staticdl_capi_dlerror();
}

int dladdr(const void *addr, void *info)
{
    return staticdl_capi_dladdr(addr, info, NULL, 0);
}

int dladdr1(const void *addr, void *info, void **extra, int flags)
{
    return staticdl_capi_dladdr(addr, info, extra, flags);
}

int dlinfo(void *restrict handle, int request, void *restrict arg)
{
    return staticdl_capi_dlinfo(handle, request, arg);
}
