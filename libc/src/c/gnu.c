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


/* ---- GNU and glibc-only names the host's C library lacks ---- */

/* glob_pattern_p (GNU): whether `pattern` has an unquoted `*` or `?`, or a
 * `[` closed by a `]`; with `quote`, a backslash escapes the next character. */
int staticdl_glob_pattern_p(const char *pattern, int quote)
{
    int bracket = 0;
    for (const char *p = pattern; *p; p++) {
        switch (*p) {
        case '?':
        case '*':
            return 1;
        case '\\':
            if (quote && p[1])
                p++;
            break;
        case '[':
            bracket = 1;
            break;
        case ']':
            if (bracket)
                return 1;
            break;
        }
    }
    return 0;
}

/* glibc's `sigpause` symbol is the BSD one: its argument is a signal mask
 * (the first 32 signals), not a signal number (that is `__xpg_sigpause`). */
extern int sigsuspend(const void *);
int staticdl_bsd_sigpause(int mask)
{
    unsigned long set[16] = {(unsigned long)(unsigned)mask};
    return sigsuspend(set);
}

/* pthread_setconcurrency/pthread_getconcurrency: glibc keeps the level it is
 * given (a hint it does not act on) and reports it back. */
static int concurrency;

int staticdl_pthread_setconcurrency(int level)
{
    if (level < 0)
        return EINVAL_;
    __atomic_store_n(&concurrency, level, __ATOMIC_RELAXED);
    return 0;
}

int staticdl_pthread_getconcurrency(void)
{
    return __atomic_load_n(&concurrency, __ATOMIC_RELAXED);
}

/* pthread_rwlockattr_setkind_np/getkind_np: glibc's three kinds
 * (PREFER_READER 0, PREFER_WRITER 1, PREFER_WRITER_NONRECURSIVE 2) are
 * checked and kept in the attribute's second word, which the host's
 * pthread_rwlock_init does not read: the host's rwlocks keep their own
 * policy (a waiting writer does not hold back new readers). */
int staticdl_rwlockattr_setkind_np(unsigned *attr, int kind)
{
    if (kind < 0 || kind > 2)
        return EINVAL_;
    attr[1] = (unsigned)kind;
    return 0;
}

int staticdl_rwlockattr_getkind_np(const unsigned *attr, int *kind)
{
    *kind = (int)attr[1];
    return 0;
}

/* __sched_cpualloc/__sched_cpufree (CPU_ALLOC/CPU_FREE): a set of `count`
 * CPUs in whole longs, from the host's allocator. */
extern void *malloc(size_t);
extern void free(void *);
void *staticdl_sched_cpualloc(size_t count)
{
    return malloc((count + 63) / 64 * 8);
}

void staticdl_sched_cpufree(void *set)
{
    free(set);
}

/* close_range (glibc 2.34): the system call. */
extern long syscall(long, ...);
int staticdl_close_range(unsigned first, unsigned last, int flags)
{
    return (int)syscall(436 /* SYS_close_range */, first, last, flags);
}

/* getprotobyname_r/getprotobynumber_r over the host's protocol table: the
 * entry copied into the caller's buffer under a lock (the host's
 * getprotobyname is not reentrant). ERANGE if it does not fit; not found is
 * 0 with *result null, as glibc reports it. */
struct protoent_ {
    char *p_name;
    char **p_aliases;
    int p_proto;
};
extern struct protoent_ *getprotobyname(const char *);
extern struct protoent_ *getprotobynumber(int);
static int proto_lock;

static int copy_protoent(const struct protoent_ *src, struct protoent_ *dst,
                         char *buf, size_t len, struct protoent_ **result)
{
    *result = 0;
    if (!src)
        return 0;
    size_t n = 0, need = 0;
    while (src->p_aliases && src->p_aliases[n])
        need += strlen(src->p_aliases[n++]) + 1;
    size_t head = (8 - ((unsigned long)buf & 7)) & 7;
    need += head + (n + 1) * sizeof(char *) + strlen(src->p_name) + 1;
    if (need > len)
        return 34; /* ERANGE */
    char **aliases = (char **)(buf + head);
    char *p = (char *)(aliases + n + 1);
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(src->p_aliases[i]) + 1;
        aliases[i] = memcpy(p, src->p_aliases[i], l);
        p += l;
    }
    aliases[n] = 0;
    dst->p_name = memcpy(p, src->p_name, strlen(src->p_name) + 1);
    dst->p_aliases = aliases;
    dst->p_proto = src->p_proto;
    *result = dst;
    return 0;
}

static void lock_proto(void)
{
    while (__atomic_exchange_n(&proto_lock, 1, __ATOMIC_ACQUIRE))
        __builtin_ia32_pause();
}

int staticdl_getprotobyname_r(const char *name, struct protoent_ *dst,
                              char *buf, size_t len, struct protoent_ **result)
{
    lock_proto();
    int r = copy_protoent(getprotobyname(name), dst, buf, len, result);
    __atomic_store_n(&proto_lock, 0, __ATOMIC_RELEASE);
    return r;
}

int staticdl_getprotobynumber_r(int proto, struct protoent_ *dst, char *buf,
                                size_t len, struct protoent_ **result)
{
    lock_proto();
    int r = copy_protoent(getprotobynumber(proto), dst, buf, len, result);
    __atomic_store_n(&proto_lock, 0, __ATOMIC_RELEASE);
    return r;
}

/* gnu_dev_major/minor/makedev: glibc's encoding of dev_t, which is the
 * kernel's (and musl's macros'). */
unsigned staticdl_gnu_dev_major(unsigned long long dev)
{
    return (unsigned)(((dev >> 32) & 0xfffff000) | ((dev >> 8) & 0xfff));
}

unsigned staticdl_gnu_dev_minor(unsigned long long dev)
{
    return (unsigned)(((dev >> 12) & 0xffffff00) | (dev & 0xff));
}

unsigned long long staticdl_gnu_dev_makedev(unsigned major, unsigned minor)
{
    unsigned long long ma = major, mi = minor;
    return ((ma & 0xfffff000ULL) << 32) | ((ma & 0xfffULL) << 8) |
           ((mi & 0xffffff00ULL) << 12) | (mi & 0xffULL);
}

/* The re-entrant resolver calls (res_ninit, res_nsearch, ...): the host's
 * resolver reads /etc/resolv.conf for each query and keeps no per-caller
 * state, so a caller's `struct __res_state` is initialised (zeroed, with
 * RES_INIT set) and then only passed along; the queries are the host's. */
#define RES_STATE_SIZE 568 /* glibc's struct __res_state on x86-64 */
#define RES_INIT_ 1UL
#define RES_OPTIONS_OFFSET 8 /* retrans, retry (ints), then options */
extern int res_init(void);
extern int res_query(const char *, int, int, unsigned char *, int);
extern int res_search(const char *, int, int, unsigned char *, int);
extern int res_querydomain(const char *, const char *, int, int,
                           unsigned char *, int);
extern int res_mkquery(int, const char *, int, int, const unsigned char *, int,
                       const unsigned char *, unsigned char *, int);
extern int res_send(const unsigned char *, int, unsigned char *, int);

int staticdl_res_ninit(void *statp)
{
    memset(statp, 0, RES_STATE_SIZE);
    *(unsigned long *)((char *)statp + RES_OPTIONS_OFFSET) = RES_INIT_;
    return res_init();
}

void staticdl_res_nclose(void *statp)
{
    (void)statp;
}

int staticdl_res_nquery(void *statp, const char *dname, int class, int type,
                        unsigned char *answer, int anslen)
{
    (void)statp;
    return res_query(dname, class, type, answer, anslen);
}

int staticdl_res_nsearch(void *statp, const char *dname, int class, int type,
                         unsigned char *answer, int anslen)
{
    (void)statp;
    return res_search(dname, class, type, answer, anslen);
}

int staticdl_res_nquerydomain(void *statp, const char *name, const char *domain,
                              int class, int type, unsigned char *answer,
                              int anslen)
{
    (void)statp;
    return res_querydomain(name, domain, class, type, answer, anslen);
}

int staticdl_res_nmkquery(void *statp, int op, const char *dname, int class,
                          int type, const unsigned char *data, int datalen,
                          const unsigned char *newrr, unsigned char *buf,
                          int buflen)
{
    (void)statp;
    return res_mkquery(op, dname, class, type, data, datalen, newrr, buf, buflen);
}

int staticdl_res_nsend(void *statp, const unsigned char *msg, int msglen,
                       unsigned char *answer, int anslen)
{
    (void)statp;
    return res_send(msg, msglen, answer, anslen);
}

/* iconv_open: glibc's charset names the host's iconv lacks, renamed: glibc's
 * C locale reports its codeset as "ANSI_X3.4-1968" (nl_langinfo(CODESET)),
 * which callers pass on to iconv_open. Any "//" suffix is kept. */
extern void *iconv_open(const char *, const char *);

static int is_ansi_ascii(const char *name)
{
    static const char *const aliases[] = {"ansix341968", "ansix341986"};
    for (int k = 0; k < 2; k++) {
        const char *p = name, *a = aliases[k];
        for (; *p && !(p[0] == '/' && p[1] == '/'); p++) {
            char c = *p;
            if (c >= 'A' && c <= 'Z')
                c = (char)(c + 32);
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
                continue;
            if (c != *a)
                break;
            a++;
        }
        if ((!*p || (p[0] == '/' && p[1] == '/')) && !*a)
            return 1;
    }
    return 0;
}

static const char *host_charset(const char *name, char *buf, size_t len)
{
    if (!name || !is_ansi_ascii(name))
        return name;
    const char *suffix = name;
    while (*suffix && !(suffix[0] == '/' && suffix[1] == '/'))
        suffix++;
    size_t n = strlen(suffix);
    if (5 + n + 1 > len)
        return name;
    memcpy(buf, "ASCII", 5);
    memcpy(buf + 5, suffix, n + 1);
    return buf;
}

void *staticdl_iconv_open(const char *to, const char *from)
{
    char tb[64], fb[64];
    return iconv_open(host_charset(to, tb, sizeof tb), host_charset(from, fb, sizeof fb));
}

/* __fsetlocking: the host's streams always lock internally, which glibc
 * reports as FSETLOCKING_INTERNAL (1); a request for FSETLOCKING_BYCALLER is
 * a performance hint the host does not need. */
int staticdl_fsetlocking(void *fp, int type)
{
    (void)fp;
    (void)type;
    return 1;
}

/* scandirat (GNU, glibc 2.15): scandir relative to a directory descriptor.
 * struct dirent is the same 280-byte record in both C libraries on x86-64;
 * each entry is copied into its own allocation, the list sorted by `compar`. */
struct dirent_rec_ {
    unsigned long d_ino;
    long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[256];
};
extern void *fdopendir(int);
extern struct dirent_rec_ *readdir(void *);
extern int closedir(void *);
extern void *realloc(void *, size_t);
extern void qsort(void *, size_t, size_t, int (*)(const void *, const void *));
extern int close(int);

#define O_RDONLY_ 0
#define O_DIRECTORY_ 0200000
#define O_CLOEXEC_ 02000000

int staticdl_scandirat(int dirfd, const char *path, struct dirent_rec_ ***list,
                       int (*filter)(const struct dirent_rec_ *),
                       int (*compar)(const struct dirent_rec_ **, const struct dirent_rec_ **))
{
    int fd = openat(dirfd, path, O_RDONLY_ | O_DIRECTORY_ | O_CLOEXEC_);
    if (fd < 0)
        return -1;
    void *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    struct dirent_rec_ **names = 0, *e;
    size_t n = 0, room = 0;
    int saved = *__errno_location(), failed = 0;
    *__errno_location() = 0;
    while ((e = readdir(d))) {
        if (filter && !filter(e))
            continue;
        if (n == room) {
            size_t more = room ? 2 * room : 16;
            struct dirent_rec_ **grown = realloc(names, more * sizeof *names);
            if (!grown) {
                failed = 1;
                break;
            }
            names = grown;
            room = more;
        }
        struct dirent_rec_ *copy = malloc(e->d_reclen);
        if (!copy) {
            failed = 1;
            break;
        }
        memcpy(copy, e, e->d_reclen);
        names[n++] = copy;
    }
    int err = *__errno_location();
    closedir(d);
    if (failed || err) {
        while (n)
            free(names[--n]);
        free(names);
        *__errno_location() = failed ? 12 /* ENOMEM */ : err;
        return -1;
    }
    *__errno_location() = saved;
    if (compar && n > 1)
        qsort(names, n, sizeof *names, (int (*)(const void *, const void *))compar);
    *list = names;
    return (int)n;
}

/* closefrom (glibc 2.34): every descriptor from `low` up closed, through
 * close_range, or one by one if the kernel lacks it. */
extern long sysconf(int);
void staticdl_closefrom(int low)
{
    if (low < 0)
        low = 0;
    if (staticdl_close_range((unsigned)low, ~0U, 0) == 0)
        return;
    long max = sysconf(4 /* _SC_OPEN_MAX */);
    for (long fd = low; fd < max; fd++)
        close((int)fd);
}

/* wmempcpy (GNU): wmemcpy returning the end of the copy. */
wchar_t_ *staticdl_wmempcpy(wchar_t_ *d, const wchar_t_ *s, size_t n)
{
    return wmemcpy(d, s, n) + n;
}
