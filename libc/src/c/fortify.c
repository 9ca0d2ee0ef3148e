/*
 * glibc's fortified entry points (`_FORTIFY_SOURCE`): the `__*_chk` family,
 * `__stack_chk_fail`, `__chk_fail` and `__longjmp_chk`, written over the host's
 * own C library: each checks what glibc checks, then forwards to the host's
 * function; on failure it reports in glibc 2.36's words and aborts.
 *
 * Owns these checks only; which import gets which shim is decided by the table
 * (`table/glibc_only.rs`).
 */

#include "shims.h"

/* ---- failure reports, worded as glibc 2.36 words them ---- */

static void write_all(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t_ w = write(2, s, n);
        if (w <= 0) {
            if (w < 0 && *__errno_location() == 4 /* EINTR */)
                continue;
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

/* glibc's __fortify_fail: "*** MSG ***: terminated" on standard error, then
 * abort(). */
__attribute__((noreturn)) void staticdl_fortify_fail(const char *msg)
{
    write_all("*** ", 4);
    write_all(msg, strlen(msg));
    write_all(" ***: terminated\n", 17);
    abort();
}

/* __chk_fail */
__attribute__((noreturn)) void staticdl_chk_fail(void)
{
    staticdl_fortify_fail("buffer overflow detected");
}

/* __stack_chk_fail */
__attribute__((noreturn)) void staticdl_stack_chk_fail(void)
{
    staticdl_fortify_fail("stack smashing detected");
}

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (__builtin_expect(!(cond), 0))                                      \
            staticdl_chk_fail();                                               \
    } while (0)

/* ---- formatted output ---- */

/* The `flag` argument (glibc's _FORTIFY_SOURCE level for %n checks) is
 * accepted and ignored: the host's printf decides what %n does. */

int staticdl_vsnprintf_chk(char *s, size_t maxlen, int flag, size_t slen,
                           const char *fmt, va_list ap)
{
    (void)flag;
    CHECK(maxlen <= slen);
    return vsnprintf(s, maxlen, fmt, ap);
}

int staticdl_snprintf_chk(char *s, size_t maxlen, int flag, size_t slen,
                          const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = staticdl_vsnprintf_chk(s, maxlen, flag, slen, fmt, ap);
    va_end(ap);
    return r;
}

int staticdl_vsprintf_chk(char *s, int flag, size_t slen, const char *fmt,
                          va_list ap)
{
    (void)flag;
    CHECK(slen != 0);
    if (slen == (size_t)-1)
        return vsprintf(s, fmt, ap);
    /* glibc writes at most slen bytes and fails if the output did not fit. */
    int r = vsnprintf(s, slen, fmt, ap);
    CHECK(r < 0 || (size_t)r < slen);
    return r;
}

int staticdl_sprintf_chk(char *s, int flag, size_t slen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = staticdl_vsprintf_chk(s, flag, slen, fmt, ap);
    va_end(ap);
    return r;
}

int staticdl_vfprintf_chk(void *fp, int flag, const char *fmt, va_list ap)
{
    (void)flag;
    return vfprintf(fp, fmt, ap);
}

int staticdl_fprintf_chk(void *fp, int flag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vfprintf(fp, fmt, ap);
    (void)flag;
    va_end(ap);
    return r;
}

/* `stdout` as the host's C library defines it: read at call time. */
extern void *stdout;

int staticdl_vprintf_chk(int flag, const char *fmt, va_list ap)
{
    (void)flag;
    return vfprintf(stdout, fmt, ap);
}

int staticdl_printf_chk(int flag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vfprintf(stdout, fmt, ap);
    (void)flag;
    va_end(ap);
    return r;
}

int staticdl_vdprintf_chk(int fd, int flag, const char *fmt, va_list ap)
{
    (void)flag;
    return vdprintf(fd, fmt, ap);
}

int staticdl_dprintf_chk(int fd, int flag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vdprintf(fd, fmt, ap);
    (void)flag;
    va_end(ap);
    return r;
}

int staticdl_vasprintf_chk(char **out, int flag, const char *fmt, va_list ap)
{
    (void)flag;
    return vasprintf(out, fmt, ap);
}

int staticdl_asprintf_chk(char **out, int flag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(out, fmt, ap);
    (void)flag;
    va_end(ap);
    return r;
}

void staticdl_vsyslog_chk(int pri, int flag, const char *fmt, va_list ap)
{
    (void)flag;
    vsyslog(pri, fmt, ap);
}

void staticdl_syslog_chk(int pri, int flag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsyslog(pri, fmt, ap);
    (void)flag;
    va_end(ap);
}

int staticdl_vswprintf_chk(wchar_t_ *s, size_t maxlen, int flag, size_t slen,
                           const wchar_t_ *fmt, va_list ap)
{
    (void)flag;
    CHECK(maxlen <= slen);
    return vswprintf(s, maxlen, fmt, ap);
}

int staticdl_swprintf_chk(wchar_t_ *s, size_t maxlen, int flag, size_t slen,
                          const wchar_t_ *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = staticdl_vswprintf_chk(s, maxlen, flag, slen, fmt, ap);
    va_end(ap);
    return r;
}

/* ---- memory and strings ---- */

void *staticdl_memcpy_chk(void *d, const void *s, size_t n, size_t dlen)
{
    CHECK(n <= dlen);
    return memcpy(d, s, n);
}

void *staticdl_memmove_chk(void *d, const void *s, size_t n, size_t dlen)
{
    CHECK(n <= dlen);
    return memmove(d, s, n);
}

void *staticdl_mempcpy_chk(void *d, const void *s, size_t n, size_t dlen)
{
    CHECK(n <= dlen);
    return (char *)memcpy(d, s, n) + n;
}

void *staticdl_memset_chk(void *d, int c, size_t n, size_t dlen)
{
    CHECK(n <= dlen);
    return memset(d, c, n);
}

void staticdl_explicit_bzero_chk(void *d, size_t n, size_t dlen)
{
    CHECK(n <= dlen);
    explicit_bzero(d, n);
}

char *staticdl_strcpy_chk(char *d, const char *s, size_t dlen)
{
    size_t n = strlen(s);
    CHECK(n < dlen);
    return memcpy(d, s, n + 1);
}

char *staticdl_stpcpy_chk(char *d, const char *s, size_t dlen)
{
    size_t n = strlen(s);
    CHECK(n < dlen);
    memcpy(d, s, n + 1);
    return d + n;
}

char *staticdl_strncpy_chk(char *d, const char *s, size_t n, size_t dlen)
{
    CHECK(n <= dlen);
    size_t k = strnlen(s, n);
    memcpy(d, s, k);
    memset(d + k, 0, n - k);
    return d;
}

char *staticdl_stpncpy_chk(char *d, const char *s, size_t n, size_t dlen)
{
    CHECK(n <= dlen);
    size_t k = strnlen(s, n);
    memcpy(d, s, k);
    memset(d + k, 0, n - k);
    return d + k;
}

char *staticdl_strcat_chk(char *d, const char *s, size_t dlen)
{
    size_t dl = strlen(d);
    size_t sl = strlen(s);
    CHECK(dl < dlen && sl < dlen - dl);
    memcpy(d + dl, s, sl + 1);
    return d;
}

char *staticdl_strncat_chk(char *d, const char *s, size_t n, size_t dlen)
{
    size_t dl = strlen(d);
    size_t sl = strnlen(s, n);
    CHECK(dl < dlen && sl < dlen - dl);
    memcpy(d + dl, s, sl);
    d[dl + sl] = 0;
    return d;
}

wchar_t_ *staticdl_wmemcpy_chk(wchar_t_ *d, const wchar_t_ *s, size_t n,
                               size_t dlen)
{
    CHECK(n <= dlen);
    return wmemcpy(d, s, n);
}

wchar_t_ *staticdl_wmemmove_chk(wchar_t_ *d, const wchar_t_ *s, size_t n,
                                size_t dlen)
{
    CHECK(n <= dlen);
    return wmemmove(d, s, n);
}

wchar_t_ *staticdl_wmemset_chk(wchar_t_ *d, wchar_t_ c, size_t n, size_t dlen)
{
    CHECK(n <= dlen);
    return wmemset(d, c, n);
}

wchar_t_ *staticdl_wcscpy_chk(wchar_t_ *d, const wchar_t_ *s, size_t dlen)
{
    size_t n = wcslen(s);
    CHECK(n < dlen);
    return wmemcpy(d, s, n + 1);
}

/* ---- input ---- */

size_t staticdl_fread_chk(void *p, size_t plen, size_t size, size_t n, void *fp)
{
    size_t bytes;
    if (__builtin_mul_overflow(size, n, &bytes) || bytes > plen)
        staticdl_chk_fail();
    return fread(p, size, n, fp);
}

size_t staticdl_fread_unlocked_chk(void *p, size_t plen, size_t size, size_t n,
                                   void *fp)
{
    size_t bytes;
    if (__builtin_mul_overflow(size, n, &bytes) || bytes > plen)
        staticdl_chk_fail();
    return fread_unlocked(p, size, n, fp);
}

char *staticdl_fgets_chk(char *s, size_t slen, int n, void *fp)
{
    if (n <= 0)
        return 0;
    CHECK((size_t)n <= slen);
    return fgets(s, n, fp);
}

ssize_t_ staticdl_read_chk(int fd, void *buf, size_t n, size_t buflen)
{
    CHECK(n <= buflen);
    return read(fd, buf, n);
}

ssize_t_ staticdl_pread_chk(int fd, void *buf, size_t n, long off,
                            size_t buflen)
{
    CHECK(n <= buflen);
    return pread(fd, buf, n, off);
}

ssize_t_ staticdl_recv_chk(int fd, void *buf, size_t n, size_t buflen,
                           int flags)
{
    CHECK(n <= buflen);
    return recv(fd, buf, n, flags);
}

ssize_t_ staticdl_recvfrom_chk(int fd, void *buf, size_t n, size_t buflen,
                               int flags, void *addr, void *addrlen)
{
    CHECK(n <= buflen);
    return recvfrom(fd, buf, n, flags, addr, addrlen);
}

ssize_t_ staticdl_readlink_chk(const char *path, char *buf, size_t n,
                               size_t buflen)
{
    CHECK(n <= buflen);
    return readlink(path, buf, n);
}

ssize_t_ staticdl_readlinkat_chk(int dirfd, const char *path, char *buf,
                                 size_t n, size_t buflen)
{
    CHECK(n <= buflen);
    return readlinkat(dirfd, path, buf, n);
}

char *staticdl_getcwd_chk(char *buf, size_t n, size_t buflen)
{
    CHECK(n <= buflen);
    return getcwd(buf, n);
}

char *staticdl_realpath_chk(const char *path, char *resolved,
                            size_t resolvedlen)
{
    CHECK(resolved == 0 || resolvedlen >= PATH_MAX_);
    return realpath(path, resolved);
}

int staticdl_getgroups_chk(int n, unsigned *list, size_t listlen)
{
    CHECK(n >= 0 && (size_t)n * sizeof(unsigned) <= listlen);
    return getgroups(n, list);
}

int staticdl_gethostname_chk(char *buf, size_t n, size_t buflen)
{
    CHECK(n <= buflen);
    return gethostname(buf, n);
}

int staticdl_ttyname_r_chk(int fd, char *buf, size_t n, size_t buflen)
{
    CHECK(n <= buflen);
    return ttyname_r(fd, buf, n);
}

int staticdl_getlogin_r_chk(char *buf, size_t n, size_t buflen)
{
    CHECK(n <= buflen);
    return getlogin_r(buf, n);
}

size_t staticdl_confstr_chk(int name, char *buf, size_t n, size_t buflen)
{
    CHECK(n <= buflen);
    return confstr(name, buf, n);
}

int staticdl_poll_chk(void *fds, unsigned long nfds, int timeout,
                      size_t fdslen)
{
    /* struct pollfd is 8 bytes in both C libraries. */
    CHECK(nfds <= fdslen / 8);
    return poll(fds, nfds, timeout);
}

long staticdl_fdelt_chk(long d)
{
    CHECK(d >= 0 && d < FD_SETSIZE_);
    return d / (8 * (long)sizeof(long));
}

/* open(2) without a mode while asking to create: glibc's fortified open
 * refuses it, since the mode would be read from a missing argument. */
int staticdl_open_2(const char *path, int flags)
{
    if ((flags & O_CREAT_) || (flags & O_TMPFILE_) == O_TMPFILE_)
        staticdl_fortify_fail(
            "invalid open call: O_CREAT or O_TMPFILE without mode");
    return open(path, flags);
}

int staticdl_openat_2(int dirfd, const char *path, int flags)
{
    if ((flags & O_CREAT_) || (flags & O_TMPFILE_) == O_TMPFILE_)
        staticdl_fortify_fail(
            "invalid openat call: O_CREAT or O_TMPFILE without mode");
    return openat(dirfd, path, flags);
}

/* ---- non-local jumps ---- */

/* __longjmp_chk(env, val): refuse a jump to a frame below the current one
 * (a frame that has already returned), unless running on the alternate signal
 * stack and jumping off it, as glibc's does; then jump with the host's longjmp.
 *
 * The jmp_buf was filled by the host's setjmp/sigsetjmp (the plugin's imports
 * of those resolve to the host's), so its layout is the host's: in musl and in
 * this file's reading, the saved stack pointer is the 7th word, unmangled.
 * glibc mangles it with the pointer guard, but no glibc setjmp ever fills a
 * buffer in this process. */
__attribute__((noreturn)) void staticdl_longjmp_chk(void *env, int val)
{
    unsigned long target = ((unsigned long *)env)[6];
    unsigned long here = (unsigned long)__builtin_frame_address(0);
    if (target < here) {
        struct stack_t_ ss;
        int ok = 0;
        if (sigaltstack(0, &ss) == 0 && (ss.ss_flags & SS_ONSTACK_)) {
            unsigned long lo = (unsigned long)ss.ss_sp;
            ok = !(target > lo && target <= lo + ss.ss_size);
        }
        if (!ok)
            staticdl_fortify_fail("longjmp causes uninitialized stack frame");
    }
    longjmp(env, val);
}

