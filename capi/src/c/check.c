/*
 * check.c - staticdl_linked_first(): whether the program's <dlfcn.h> names are
 * the archive's.
 *
 * Owns the run-time check of the link order. Both references are weak, so they
 * pull no archive member in: they see whatever the static linker already chose.
 * If dlfcn.c's member is in the link, `dlopen` is that member's (its definition
 * is strong, musl's stub is weak) and equals the member's mark; if the program
 * was linked with `-lstaticdl` after the C library, musl's stubs answered its
 * calls, dlfcn.c's member was never taken and its mark is null.
 *
 * Does not own the names themselves (dlfcn.c).
 */

extern void *dlopen(const char *file, int mode) __attribute__((weak));
extern void *staticdl__dlfcn_dlopen(const char *file, int mode) __attribute__((weak));

int staticdl_linked_first(void)
{
    return staticdl__dlfcn_dlopen != 0 && dlopen == staticdl__dlfcn_dlopen;
}
