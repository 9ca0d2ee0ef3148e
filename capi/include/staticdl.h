/*
 * staticdl.h - the host API of libstaticdl.a: dlopen for static C, C++ and Go
 * programs.
 *
 * This is the header of the archive a HOST links (installed by capi/install.sh
 * as PREFIX/include/staticdl.h). It is not abi/include/staticdl.h, the header a
 * PLUGIN is written against; the two use different include guards and no
 * common identifier, so one translation unit may include both (the plugin
 * header's `staticdl_export` is a type, which is why the host call that offers
 * a symbol is named staticdl_export_symbol).
 *
 * Linking the archive also gives the program a working <dlfcn.h> (dlopen,
 * dlsym, dlvsym, dlclose, dlerror, dladdr, dladdr1, dlinfo, dl_iterate_phdr)
 * when -lstaticdl comes before the C library on the link line; see
 * staticdl_linked_first() and the README's "From C and Go".
 *
 * Handles from staticdl_open and dlopen are the same kind of value: either may
 * be passed to the other's functions. Every failing call leaves a message for
 * staticdl_error() (the facade's words) and for dlerror() (glibc's words).
 */
#ifndef STATICDL_HOST_H
#define STATICDL_HOST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An open object (a plugin or a plain shared library). */
typedef struct staticdl_handle staticdl_handle;

/* What staticdl_info reports. The strings live as long as the process. */
typedef struct staticdl_object_info {
    const char *path;   /* the file's canonical path */
    const char *name;   /* the name it was first opened by */
    const char *soname; /* its DT_SONAME, or NULL */
    uintptr_t start;    /* the start of its mapping */
    size_t size;        /* the mapping's length in bytes */
} staticdl_object_info;

/* staticdl_open flags. */
#define STATICDL_OPEN_GLOBAL 0x1      /* join the global scope (RTLD_GLOBAL) */
#define STATICDL_OPEN_KEEP_LOADED 0x2 /* never unload (RTLD_NODELETE) */

/*
 * Opens the object at `path` (relative to the working directory, like
 * fopen; no library search) with its dependencies, runs its initialisers with
 * the process's argc/argv/envp and, for a staticdl plugin, its descriptor's
 * init; or returns the object already open from the same file (by any path),
 * which is initialised only once. A failure to load a file is remembered:
 * opening it again fails at once with "(previous failure)" until
 * staticdl_forget_failure. NULL on failure.
 */
staticdl_handle *staticdl_open(const char *path, int flags);

/* `name` (or "name@VERSION") in the object and its dependencies, breadth
 * first; with a NULL handle, in the global scope. NULL if undefined. */
void *staticdl_sym(staticdl_handle *handle, const char *name);

/* As staticdl_sym, the definition of `name` at symbol version `version`. */
void *staticdl_vsym(staticdl_handle *handle, const char *name, const char *version);

/* Gives up one open: 1 if that was the object's last handle (its fini and
 * finalisers ran; it is unmapped unless another loaded object depends on
 * it), 0 if it stays open (another open, or STATICDL_OPEN_KEEP_LOADED), -1
 * for a handle that is not open. */
int staticdl_close(staticdl_handle *handle);

/* This thread's last failure since the previous call, in the facade's words
 * (e.g. `open("x.so"): undefined symbol foo (previous failure)`), or NULL.
 * Valid until the next staticdl_error() call on this thread. */
const char *staticdl_error(void);

/* Path, name, soname and mapping of an open object. 0, or -1. */
int staticdl_info(staticdl_handle *handle, staticdl_object_info *out);

/*
 * Loads the objects the environment variable `variable` lists
 * (STATICDL_PRELOAD when NULL): entries split on ':' and spaces, in list
 * order, each loaded once, joining the global scope and never unloaded. A
 * failed entry prints one line on stderr and is skipped. In secure mode
 * (setuid, setgid, capabilities) nothing is loaded, one line is printed and
 * the variable is removed from the environment: -1. Otherwise the number of
 * objects loaded.
 */
int staticdl_preload(const char *variable);

/* Offers `name` at `addr` to every object loaded afterwards (before their own
 * definitions, as glibc does for an executable linked with -rdynamic) and to
 * dlsym(RTLD_DEFAULT, name). 0, or -1. */
int staticdl_export_symbol(const char *name, void *addr);

/* Forgets a remembered failure to open `path`. 1 if one was forgotten. */
int staticdl_forget_failure(const char *path);

/* 1 if the program's <dlfcn.h> calls reach staticdl (the archive was linked
 * before the C library), 0 if they reach the C library's stubs. */
int staticdl_linked_first(void);

/*
 * The <dlfcn.h> names musl's header does not declare. glibc's RTLD_DI_*
 * requests that dlinfo answers: LMID, LINKMAP, ORIGIN, TLS_MODID, TLS_DATA,
 * PHDR.
 */
void *dlvsym(void *handle, const char *name, const char *version);
int dladdr1(const void *addr, void *info, void **extra, int flags);

#ifndef RTLD_DL_SYMENT
#define RTLD_DL_SYMENT 1
#endif
#ifndef RTLD_DL_LINKMAP
#define RTLD_DL_LINKMAP 2
#endif
#ifndef RTLD_DI_LMID
#define RTLD_DI_LMID 1
#endif
#ifndef RTLD_DI_LINKMAP
#define RTLD_DI_LINKMAP 2
#endif
#ifndef RTLD_DI_ORIGIN
#define RTLD_DI_ORIGIN 6
#endif
#ifndef RTLD_DI_TLS_MODID
#define RTLD_DI_TLS_MODID 9
#endif
#ifndef RTLD_DI_TLS_DATA
#define RTLD_DI_TLS_DATA 10
#endif
#ifndef RTLD_DI_PHDR
#define RTLD_DI_PHDR 11
#endif

#ifdef __cplusplus
}
#endif

#endif /* STATICDL_HOST_H */
