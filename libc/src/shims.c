/*
 * glibc-only entry points that a plugin built against glibc may import, written
 * over the host's own C library (musl in a static host, glibc in a dynamic one).
 *
 * Owns the functions that need C: the fortified `__*_chk` family (variadic
 * forwarding to the `v*` functions), `__longjmp_chk`, the GNU variants of
 * `strerror_r` and `basename`, the pre-2.33 `__xstat` family, `arc4random`,
 * and, in a static musl host only, the description of the host executable that
 * musl's own static `dl_iterate_phdr` reports. It does not decide which import
 * gets which function: the table in `table.rs` does.
 *
 * Every function here is named `staticdl_*`: none takes a C library name, so
 * linking this file never changes what the host's own calls reach. No C library
 * header is included (only the compiler's <stdarg.h> and <stddef.h>), so the
 * file builds the same with musl-gcc or a glibc gcc; the few declarations it
 * needs are written out below and have the same ABI in both C libraries on
 * x86-64.
 */

#include <stdarg.h>
#include <stddef.h>

typedef long ssize_t_;
typedef int wchar_t_;

/* The host C library's functions these shims forward to. */
extern int vsnprintf(char *, size_t, const char *, va_list);
extern int vsprintf(char *, const char *, va_list);
extern int vfprintf(void *, const char *, va_list);
extern int vdprintf(int, const char *, va_list);
extern int vasprintf(char **, const char *, va_list);
extern int vswprintf(wchar_t_ *, size_t, const wchar_t_ *, va_list);
extern void vsyslog(int, const char *, va_list);
extern void *memcpy(void *, const void *, size_t);
extern void *memmove(void *, const void *, size_t);
extern void *memset(void *, int, size_t);
extern size_t strlen(const char *);
extern size_t strnlen(const char *, size_t);
extern char *strrchr(const char *, int);
extern char *strerror(int);
extern void explicit_bzero(void *, size_t);
extern size_t fread(void *, size_t, size_t, void *);
extern size_t fread_unlocked(void *, size_t, size_t, void *);
extern char *fgets(char *, int, void *);
extern ssize_t_ read(int, void *, size_t);
extern ssize_t_ pread(int, void *, size_t, long);
extern ssize_t_ readlink(const char *, char *, size_t);
extern ssize_t_ readlinkat(int, const char *, char *, size_t);
extern char *getcwd(char *, size_t);
extern char *realpath(const char *, char *);
extern int open(const char *, int, ...);
extern int openat(int, const char *, int, ...);
extern int poll(void *, unsigned long, int);
extern ssize_t_ recv(int, void *, size_t, int);
extern ssize_t_ recvfrom(int, void *, size_t, int, void *, void *);
extern int getgroups(int, unsigned *);
extern int gethostname(char *, size_t);
extern int ttyname_r(int, char *, size_t);
extern int getlogin_r(char *, size_t);
extern size_t confstr(int, char *, size_t);
extern wchar_t_ *wmemcpy(wchar_t_ *, const wchar_t_ *, size_t);
extern wchar_t_ *wmemmove(wchar_t_ *, const wchar_t_ *, size_t);
extern wchar_t_ *wmemset(wchar_t_ *, wchar_t_, size_t);
extern size_t wcslen(const wchar_t_ *);
extern ssize_t_ write(int, const void *, size_t);
extern void abort(void) __attribute__((noreturn));
extern int *__errno_location(void);
extern ssize_t_ getrandom(void *, size_t, unsigned);
extern int stat(const char *, void *);
extern int fstat(int, void *);
extern int lstat(const char *, void *);
extern int fstatat(int, const char *, void *, int);
extern int mknod(const char *, unsigned, unsigned long);
extern int mknodat(int, const char *, unsigned, unsigned long);

struct stack_t_ {
    void *ss_sp;
    int ss_flags;
    size_t ss_size;
};
extern int sigaltstack(const struct stack_t_ *, struct stack_t_ *);
extern void longjmp(void *, int) __attribute__((noreturn));

#define EINVAL_ 22
#define O_CREAT_ 0100
#define O_TMPFILE_ 020000000
#define SS_ONSTACK_ 1
#define FD_SETSIZE_ 1024
#define PATH_MAX_ 4096

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

/* ---- the host executable, as musl's static dl_iterate_phdr reports it ---- */

#ifdef STATICDL_MUSL

/* glibc's and musl's `struct dl_phdr_info` (x86-64). */
struct staticdl_phdr_info {
    size_t dlpi_addr;
    const char *dlpi_name;
    const void *dlpi_phdr;
    unsigned short dlpi_phnum;
    unsigned long long dlpi_adds;
    unsigned long long dlpi_subs;
    size_t dlpi_tls_modid;
    void *dlpi_tls_data;
};

struct staticdl_phdr {
    unsigned p_type;
    unsigned p_flags;
    unsigned long p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};

extern unsigned long getauxval(unsigned long);
extern const size_t _DYNAMIC[] __attribute__((weak, visibility("hidden")));
extern void *__tls_get_addr(size_t *);

#define AT_PHDR_ 3
#define AT_PHENT_ 4
#define AT_PHNUM_ 5
#define PT_DYNAMIC_ 2
#define PT_PHDR_ 6
#define PT_TLS_ 7

/* Fill `info` field by field as musl 1.2's static_dl_iterate_phdr does: the
 * program headers from AT_PHDR/AT_PHNUM (stepping AT_PHENT), the load base
 * from PT_PHDR or, when the executable has one, from _DYNAMIC and PT_DYNAMIC,
 * the name "/proc/self/exe", TLS module 1 with the calling thread's block from
 * musl's __tls_get_addr. Only the counters differ: musl reports 0 and 0, this
 * reports the process's load and unload counts, which are 0 and 0 until the
 * first object is loaded. */
void staticdl_host_phdr_info(struct staticdl_phdr_info *info,
                             unsigned long long adds, unsigned long long subs)
{
    unsigned long phdr_at = getauxval(AT_PHDR_);
    unsigned long phent = getauxval(AT_PHENT_);
    unsigned long n = getauxval(AT_PHNUM_);
    const unsigned char *p = (const unsigned char *)phdr_at;
    const struct staticdl_phdr *tls_phdr = 0;
    size_t base = 0;
    for (; n; n--, p += phent) {
        const struct staticdl_phdr *ph = (const void *)p;
        if (ph->p_type == PT_PHDR_)
            base = phdr_at - ph->p_vaddr;
        if (ph->p_type == PT_DYNAMIC_ && _DYNAMIC)
            base = (size_t)_DYNAMIC - ph->p_vaddr;
        if (ph->p_type == PT_TLS_)
            tls_phdr = ph;
    }
    info->dlpi_addr = base;
    info->dlpi_name = "/proc/self/exe";
    info->dlpi_phdr = (const void *)phdr_at;
    info->dlpi_phnum = (unsigned short)getauxval(AT_PHNUM_);
    info->dlpi_adds = adds;
    info->dlpi_subs = subs;
    if (tls_phdr) {
        size_t index[2] = {1, 0};
        info->dlpi_tls_modid = 1;
        info->dlpi_tls_data = __tls_get_addr(index);
    } else {
        info->dlpi_tls_modid = 0;
        info->dlpi_tls_data = 0;
    }
}

#endif
