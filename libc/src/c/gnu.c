/*
 * GNU variants of POSIX names and small glibc-only entry points over the host's
 * C library: the GNU `strerror_r` and `basename`, `rawmemchr`, the pre-2.33
 * `__xstat` family, `arc4random` (glibc 2.36), and the rest of the short shims
 * whose glibc semantics need a line or two of C.
 *
 * Owns these functions only; the table (`table/`) decides which import gets
 * which.
 */

#include "shims.h"

/* ---- GNU variants of POSIX names ---- */

/* The GNU strerror_r (glibc's default `strerror_r` symbol): returns the
 * message, which need not be in `buf`. The POSIX one is __xpg_strerror_r. */
char *staticdl_gnu_strerror_r(int err, char *buf, size_t len)
{
    (void)buf;
    (void)len;
    return strerror(err);
}

/* The GNU basename (glibc's `basename` symbol): never modifies its argument,
 * returns "" for a path ending in '/'. The POSIX one is __xpg_basename. */
char *staticdl_gnu_basename(const char *path)
{
    char *slash = strrchr(path, '/');
    return slash ? slash + 1 : (char *)path;
}

void *staticdl_rawmemchr(const void *s, int c)
{
    const unsigned char *p = s;
    while (*p != (unsigned char)c)
        p++;
    return (void *)p;
}

/* ---- the stat family before glibc 2.33 (`__xstat` and friends) ---- */

/* On x86-64, _STAT_VER_KERNEL is 0 and _STAT_VER_LINUX 1; both name the one
 * `struct stat` layout, the kernel's, which musl uses too. */
static int stat_ver_ok(int ver)
{
    if (ver == 0 || ver == 1)
        return 1;
    *__errno_location() = EINVAL_;
    return 0;
}

int staticdl_xstat(int ver, const char *path, void *st)
{
    return stat_ver_ok(ver) ? stat(path, st) : -1;
}

int staticdl_fxstat(int ver, int fd, void *st)
{
    return stat_ver_ok(ver) ? fstat(fd, st) : -1;
}

int staticdl_lxstat(int ver, const char *path, void *st)
{
    return stat_ver_ok(ver) ? lstat(path, st) : -1;
}

int staticdl_fxstatat(int ver, int dirfd, const char *path, void *st, int flag)
{
    return stat_ver_ok(ver) ? fstatat(dirfd, path, st, flag) : -1;
}

int staticdl_xmknod(int ver, const char *path, unsigned mode,
                    unsigned long *dev)
{
    if (ver != 0) {
        *__errno_location() = EINVAL_;
        return -1;
    }
    return mknod(path, mode, *dev);
}

int staticdl_xmknodat(int ver, int dirfd, const char *path, unsigned mode,
                      unsigned long *dev)
{
    if (ver != 0) {
        *__errno_location() = EINVAL_;
        return -1;
    }
    return mknodat(dirfd, path, mode, *dev);
}

/* ---- arc4random (glibc 2.36), from the kernel's getrandom ---- */

void staticdl_arc4random_buf(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t_ r = getrandom(p, n, 0);
        if (r < 0) {
            if (*__errno_location() == 4 /* EINTR */)
                continue;
            staticdl_fortify_fail("getrandom failed in arc4random");
        }
        p += r;
        n -= (size_t)r;
    }
}

unsigned staticdl_arc4random(void)
{
    unsigned v;
    staticdl_arc4random_buf(&v, sizeof v);
    return v;
}

unsigned staticdl_arc4random_uniform(unsigned upper)
{
    if (upper < 2)
        return 0;
    /* Reject the low values that would bias the modulo. */
    unsigned min = -upper % upper;
    for (;;) {
        unsigned v = staticdl_arc4random();
        if (v >= min)
            return v % upper;
    }
}

