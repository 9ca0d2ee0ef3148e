/*
 * The rest of glibc's fortified entry points: the wide-character and
 * multibyte conversions, wide stdio, and a few descriptor and terminal calls.
 * As in fortify.c, each checks what glibc 2.36 checks (sizes of wide buffers
 * are counted in wchar_t, as the fortify macros pass them), then forwards to
 * the host's function; on failure it reports glibc's message and aborts.
 *
 * Owns these checks only.
 */

#include "shims.h"

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (__builtin_expect(!(cond), 0))                                      \
            staticdl_chk_fail();                                               \
    } while (0)

extern char *fgets_unlocked(char *, int, void *);
extern wchar_t_ *fgetws(wchar_t_ *, int, void *);
extern wchar_t_ *fgetws_unlocked(wchar_t_ *, int, void *);
extern int vfwprintf(void *, const wchar_t_ *, va_list);
extern int vwprintf(const wchar_t_ *, va_list);
extern int getdomainname(char *, size_t);
extern int getc(void *);
extern void *stdin;
extern size_t mbsnrtowcs(wchar_t_ *, const char **, size_t, size_t, void *);
extern size_t mbsrtowcs(wchar_t_ *, const char **, size_t, void *);
extern size_t mbstowcs(wchar_t_ *, const char *, size_t);
extern size_t wcsnrtombs(char *, const wchar_t_ **, size_t, size_t, void *);
extern size_t wcsrtombs(char *, const wchar_t_ **, size_t, void *);
extern size_t wcstombs(char *, const wchar_t_ *, size_t);
extern size_t wcrtomb(char *, wchar_t_, void *);
extern int wctomb(char *, wchar_t_);
extern size_t __ctype_get_mb_cur_max(void);
extern int ppoll(void *, unsigned long, const void *, const void *);
extern int ptsname_r(int, char *, size_t);
extern wchar_t_ *wcpcpy(wchar_t_ *, const wchar_t_ *);
extern wchar_t_ *wcpncpy(wchar_t_ *, const wchar_t_ *, size_t);
extern wchar_t_ *wcsncpy(wchar_t_ *, const wchar_t_ *, size_t);
extern size_t wcsnlen(const wchar_t_ *, size_t);

char *staticdl_fgets_unlocked_chk(char *s, size_t slen, int n, void *fp)
{
    if (n <= 0)
        return 0;
    CHECK((size_t)n <= slen);
    return fgets_unlocked(s, n, fp);
}

wchar_t_ *staticdl_fgetws_chk(wchar_t_ *s, size_t slen, int n, void *fp)
{
    if (n <= 0)
        return 0;
    CHECK((size_t)n <= slen);
    return fgetws(s, n, fp);
}

wchar_t_ *staticdl_fgetws_unlocked_chk(wchar_t_ *s, size_t slen, int n, void *fp)
{
    if (n <= 0)
        return 0;
    CHECK((size_t)n <= slen);
    return fgetws_unlocked(s, n, fp);
}

int staticdl_vfwprintf_chk(void *fp, int flag, const wchar_t_ *fmt, va_list ap)
{
    (void)flag;
    return vfwprintf(fp, fmt, ap);
}

int staticdl_fwprintf_chk(void *fp, int flag, const wchar_t_ *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vfwprintf(fp, fmt, ap);
    va_end(ap);
    (void)flag;
    return r;
}

int staticdl_vwprintf_chk(int flag, const wchar_t_ *fmt, va_list ap)
{
    (void)flag;
    return vwprintf(fmt, ap);
}

int staticdl_wprintf_chk(int flag, const wchar_t_ *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vwprintf(fmt, ap);
    va_end(ap);
    (void)flag;
    return r;
}

int staticdl_getdomainname_chk(char *buf, size_t n, size_t buflen)
{
    CHECK(n <= buflen);
    return getdomainname(buf, n);
}

/* gets with the destination's size: a line longer than the buffer fails. */
char *staticdl_gets_chk(char *s, size_t size)
{
    size_t i = 0;
    int c = getc(stdin);
    if (c == -1)
        return 0;
    while (c != -1 && c != '\n') {
        CHECK(i + 1 < size);
        s[i++] = (char)c;
        c = getc(stdin);
    }
    s[i] = 0;
    return s;
}

char *staticdl_getwd_chk(char *buf, size_t buflen)
{
    char *r = getcwd(buf, buflen);
    if (!r && *__errno_location() == 34 /* ERANGE */)
        staticdl_chk_fail();
    return r;
}

size_t staticdl_mbsnrtowcs_chk(wchar_t_ *d, const char **s, size_t nms, size_t len, void *ps,
                               size_t dlen)
{
    CHECK(len <= dlen);
    return mbsnrtowcs(d, s, nms, len, ps);
}

size_t staticdl_mbsrtowcs_chk(wchar_t_ *d, const char **s, size_t len, void *ps, size_t dlen)
{
    CHECK(len <= dlen);
    return mbsrtowcs(d, s, len, ps);
}

size_t staticdl_mbstowcs_chk(wchar_t_ *d, const char *s, size_t len, size_t dlen)
{
    CHECK(len <= dlen);
    return mbstowcs(d, s, len);
}

size_t staticdl_wcsnrtombs_chk(char *d, const wchar_t_ **s, size_t nwc, size_t len, void *ps,
                               size_t dlen)
{
    CHECK(len <= dlen);
    return wcsnrtombs(d, s, nwc, len, ps);
}

size_t staticdl_wcsrtombs_chk(char *d, const wchar_t_ **s, size_t len, void *ps, size_t dlen)
{
    CHECK(len <= dlen);
    return wcsrtombs(d, s, len, ps);
}

size_t staticdl_wcstombs_chk(char *d, const wchar_t_ *s, size_t len, size_t dlen)
{
    CHECK(len <= dlen);
    return wcstombs(d, s, len);
}

size_t staticdl_wcrtomb_chk(char *s, wchar_t_ wc, void *ps, size_t buflen)
{
    CHECK(buflen >= __ctype_get_mb_cur_max());
    return wcrtomb(s, wc, ps);
}

int staticdl_wctomb_chk(char *s, wchar_t_ wc, size_t buflen)
{
    CHECK(buflen >= __ctype_get_mb_cur_max());
    return wctomb(s, wc);
}

int staticdl_ppoll_chk(void *fds, unsigned long nfds, const void *timeout, const void *sigmask,
                       size_t fdslen)
{
    CHECK(nfds <= fdslen / 8); /* struct pollfd is 8 bytes */
    return ppoll(fds, nfds, timeout, sigmask);
}

int staticdl_ptsname_r_chk(int fd, char *buf, size_t buflen, size_t nreal)
{
    CHECK(buflen <= nreal);
    return ptsname_r(fd, buf, buflen);
}

wchar_t_ *staticdl_wcpcpy_chk(wchar_t_ *d, const wchar_t_ *s, size_t dlen)
{
    size_t n = wcslen(s);
    CHECK(n < dlen);
    return wcpcpy(d, s);
}

wchar_t_ *staticdl_wcpncpy_chk(wchar_t_ *d, const wchar_t_ *s, size_t n, size_t dlen)
{
    CHECK(n <= dlen);
    return wcpncpy(d, s, n);
}

wchar_t_ *staticdl_wcsncpy_chk(wchar_t_ *d, const wchar_t_ *s, size_t n, size_t dlen)
{
    CHECK(n <= dlen);
    return wcsncpy(d, s, n);
}

wchar_t_ *staticdl_wcscat_chk(wchar_t_ *d, const wchar_t_ *s, size_t dlen)
{
    size_t dl = wcslen(d), sl = wcslen(s);
    CHECK(dl < dlen && sl < dlen - dl);
    wmemcpy(d + dl, s, sl + 1);
    return d;
}

wchar_t_ *staticdl_wcsncat_chk(wchar_t_ *d, const wchar_t_ *s, size_t n, size_t dlen)
{
    size_t dl = wcslen(d), sl = wcsnlen(s, n);
    CHECK(dl < dlen && sl < dlen - dl);
    wmemcpy(d + dl, s, sl);
    d[dl + sl] = 0;
    return d;
}

wchar_t_ *staticdl_wmempcpy_chk(wchar_t_ *d, const wchar_t_ *s, size_t n, size_t dlen)
{
    CHECK(n <= dlen);
    return wmemcpy(d, s, n) + n;
}
