/*
 * glibc's parse_printf_format (<printf.h>): the types of the arguments a
 * printf format consumes, in glibc's PA_* encoding (PA_INT, PA_CHAR,
 * PA_WCHAR, PA_STRING, PA_WSTRING, PA_POINTER, PA_DOUBLE, with the
 * PA_FLAG_SHORT, PA_FLAG_LONG, PA_FLAG_LONG_DOUBLE and PA_FLAG_PTR bits,
 * exactly as glibc 2.36 reports them on x86-64: `ll` counts as `l`, `%lc`
 * and `%ls` as `%c` and `%s`), `*` widths and precisions included, in argument order; with positional
 * arguments (%N$, *N$) each argument's type is stored at its position.
 * Returns the number of arguments the format consumes; at most `n` types are
 * stored. (libsystemd skips its log arguments with it.)
 *
 * Owns this function only; glibc's printf extensions (register_printf_*)
 * are not provided.
 */

#include "shims.h"

extern char *strchr(const char *, int);

#define PA_INT 0
#define PA_CHAR 1
#define PA_WCHAR 2
#define PA_STRING 3
#define PA_WSTRING 4
#define PA_POINTER 5
#define PA_FLOAT 6
#define PA_DOUBLE 7
#define PA_FLAG_LONG_LONG (1 << 8)
#define PA_FLAG_LONG_DOUBLE PA_FLAG_LONG_LONG
#define PA_FLAG_LONG (1 << 9)
#define PA_FLAG_SHORT (1 << 10)
#define PA_FLAG_PTR (1 << 11)

static void store(int *types, size_t n, size_t at, int type)
{
    if (at < n)
        types[at] = type;
}

static int digits(const char **p)
{
    int v = 0;
    while (**p >= '0' && **p <= '9') {
        if (v < 100000)
            v = v * 10 + (**p - '0');
        (*p)++;
    }
    return v;
}

/* "N$" at *p: N, and *p moved past it; else 0 and *p unchanged. */
static int position(const char **p)
{
    const char *q = *p;
    if (*q < '1' || *q > '9')
        return 0;
    int v = digits(&q);
    if (*q != '$')
        return 0;
    *p = q + 1;
    return v;
}

size_t staticdl_parse_printf_format(const char *fmt, size_t n, int *types)
{
    size_t next = 0;  /* sequential arguments used */
    size_t max_pos = 0; /* highest positional argument */
    for (const char *p = fmt; *p; p++) {
        if (*p != '%')
            continue;
        p++;
        if (*p == '%')
            continue;
        if (!*p)
            break;
        int pos = position(&p);
        while (*p && strchr("-+ #0'I", *p))
            p++;
        /* width */
        if (*p == '*') {
            p++;
            int wpos = position(&p);
            if (wpos) {
                store(types, n, (size_t)wpos - 1, PA_INT);
                if ((size_t)wpos > max_pos)
                    max_pos = (size_t)wpos;
            } else {
                store(types, n, next++, PA_INT);
            }
        } else {
            digits(&p);
        }
        /* precision */
        if (*p == '.') {
            p++;
            if (*p == '*') {
                p++;
                int ppos = position(&p);
                if (ppos) {
                    store(types, n, (size_t)ppos - 1, PA_INT);
                    if ((size_t)ppos > max_pos)
                        max_pos = (size_t)ppos;
                } else {
                    store(types, n, next++, PA_INT);
                }
            } else {
                digits(&p);
            }
        }
        /* length */
        int is_char = 0, is_short = 0, is_long = 0, is_long_long = 0;
        for (;; p++) {
            if (*p == 'h') {
                if (is_short) {
                    is_short = 0;
                    is_char = 1;
                } else {
                    is_short = 1;
                }
            } else if (*p == 'l') {
                if (is_long)
                    is_long_long = 1;
                is_long = 1;
            } else if (*p == 'L' || *p == 'q') {
                is_long_long = 1;
            } else if (*p == 'j' || *p == 'z' || *p == 'Z' || *p == 't') {
                is_long = 1; /* intmax_t, size_t, ptrdiff_t are long on x86-64 */
            } else {
                break;
            }
        }
        if (!*p)
            break;
        int type;
        switch (*p) {
        case 'd':
        case 'i':
        case 'u':
        case 'o':
        case 'x':
        case 'X':
        case 'b':
        case 'B':
            if (is_char)
                type = PA_CHAR;
            else if (is_long)
                type = PA_INT | PA_FLAG_LONG;
            else if (is_short)
                type = PA_INT | PA_FLAG_SHORT;
            else
                type = PA_INT;
            break;
        case 'e':
        case 'E':
        case 'f':
        case 'F':
        case 'g':
        case 'G':
        case 'a':
        case 'A':
            type = is_long_long ? PA_DOUBLE | PA_FLAG_LONG_DOUBLE : PA_DOUBLE;
            break;
        case 'c': /* glibc reports %lc as PA_CHAR and %ls as PA_STRING */
            type = PA_CHAR;
            break;
        case 'C':
            type = PA_WCHAR;
            break;
        case 's':
            type = PA_STRING;
            break;
        case 'S':
            type = PA_WSTRING;
            break;
        case 'p':
            type = PA_POINTER;
            break;
        case 'n':
            type = PA_INT | PA_FLAG_PTR;
            break;
        default: /* %m and unknown conversions take no argument */
            continue;
        }
        if (pos) {
            store(types, n, (size_t)pos - 1, type);
            if ((size_t)pos > max_pos)
                max_pos = (size_t)pos;
        } else {
            store(types, n, next++, type);
        }
    }
    return max_pos > next ? max_pos : next;
}
