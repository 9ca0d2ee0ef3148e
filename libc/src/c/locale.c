/*
 * glibc-shaped locale objects over the host's own (musl's) locales.
 *
 * glibc's `locale_t` points at a `struct __locale_struct` whose layout is part
 * of its ABI: libstdc++ (and glibc's own <ctype.h> macros) read `__ctype_b`,
 * `__ctype_tolower` and `__ctype_toupper` at offsets 0x68, 0x70 and 0x78.
 * musl's `locale_t` is six category pointers (48 bytes). So every locale a
 * plugin gets from `newlocale`, `duplocale` or `uselocale` (and their `__`
 * names) is a `struct glibc_locale` below, which carries the host's locale in
 * `__locales[0]`, a mark in `__locales[5]` (inside the first 48 bytes, so a
 * musl locale handed over by the host is still told apart safely), glibc's
 * three table pointers (the host's class table, which has glibc's layout, and
 * glibc's case tables from ctype.c) and the category names. Every `*_l` function
 * takes such a locale through `staticdl_locale_unwrap` (in C) or the
 * trampolines of `locale_l.S`.
 *
 * `nl_langinfo` and `nl_langinfo_l` answer glibc's item numbers, including
 * glibc's own items that libstdc++ reads for named locales (the wide-character
 * decimal point and thousands separator, the wide time names, the monetary
 * character values), from the host locale's data; musl's data is the C
 * locale's for LC_NUMERIC, LC_TIME and LC_MONETARY.
 *
 * Owns these objects and functions; does not own the locale data (the host's).
 */

#include "shims.h"

typedef void *mlocale;                      /* the host's locale_t */
#define GLOBAL_LOCALE ((void *)-1L)          /* LC_GLOBAL_LOCALE in both */
#define MARK ((void *)0x4c4c44434954415fUL)  /* "_STATICDLL" */

struct glibc_locale {
    void *locales[13];                  /* 0x00: [0] host locale, [5] MARK */
    const unsigned short *ctype_b;      /* 0x68 */
    const int *ctype_tolower;           /* 0x70 */
    const int *ctype_toupper;           /* 0x78 */
    const char *names[13];              /* 0x80 */
};

_Static_assert(__builtin_offsetof(struct glibc_locale, ctype_b) == 0x68, "glibc ABI");
_Static_assert(__builtin_offsetof(struct glibc_locale, names) == 0x80, "glibc ABI");
_Static_assert(sizeof(struct glibc_locale) == 0xe8, "glibc ABI");

extern mlocale newlocale(int, const char *, mlocale);
extern mlocale duplocale(mlocale);
extern void freelocale(mlocale);
extern mlocale uselocale(mlocale);
extern char *nl_langinfo_l(int, mlocale);
extern const unsigned short **__ctype_b_loc(void);
extern const int **staticdl_ctype_tolower_loc(void);
extern const int **staticdl_ctype_toupper_loc(void);
extern void *calloc(size_t, size_t);
extern void free(void *);
extern char *strdup(const char *);
extern int strcmp(const char *, const char *);
extern char *getenv(const char *);

#define GLIBC_LC_ALL 6
#define GLIBC_LC_ALL_MASK 0x1fbf /* bits 0..12 without LC_ALL's */
#define HOST_MASK 0x3f           /* the six categories the host has */
#define ENOMEM_ 12

static const char *const category_env[13] = {
    "LC_CTYPE",   "LC_NUMERIC", "LC_TIME",        "LC_COLLATE",    "LC_MONETARY",
    "LC_MESSAGES", 0,           "LC_PAPER",       "LC_NAME",       "LC_ADDRESS",
    "LC_TELEPHONE", "LC_MEASUREMENT", "LC_IDENTIFICATION",
};

static const char c_name[] = "C";

/* The host locale inside a locale a plugin passes: a glibc-shaped one is
 * unwrapped; LC_GLOBAL_LOCALE, null, and a host locale pass through. */
mlocale staticdl_locale_unwrap(void *loc)
{
    struct glibc_locale *g = loc;
    if (loc == 0 || loc == GLOBAL_LOCALE || g->locales[5] != MARK)
        return loc;
    return g->locales[0];
}

/* The name category `i` gets from `name` ("" reads the environment as
 * setlocale does: LC_ALL, then LC_<category>, then LANG, then "C"). */
static const char *resolve_name(int i, const char *name)
{
    if (*name)
        return name;
    const char *v = getenv("LC_ALL");
    if (!v || !*v)
        v = getenv(category_env[i]);
    if (!v || !*v)
        v = getenv("LANG");
    return v && *v ? v : c_name;
}

static void free_names(struct glibc_locale *g)
{
    for (int i = 0; i < 13; i++) {
        if (g->names[i] && g->names[i] != c_name)
            free((void *)g->names[i]);
        g->names[i] = 0;
    }
}

static int copy_name(const char **dst, const char *src)
{
    if (!src || src == c_name || strcmp(src, c_name) == 0) {
        *dst = c_name;
        return 1;
    }
    *dst = strdup(src);
    return *dst != 0;
}

static struct glibc_locale *wrap(mlocale host)
{
    struct glibc_locale *g = calloc(1, sizeof *g);
    if (!g)
        return 0;
    g->locales[0] = host;
    g->locales[5] = MARK;
    g->ctype_b = *__ctype_b_loc();
    g->ctype_tolower = *staticdl_ctype_tolower_loc();
    g->ctype_toupper = *staticdl_ctype_toupper_loc();
    return g;
}

/* newlocale(mask, name, base), glibc's contract: `1 << LC_ALL` means every
 * category; other bits outside LC_ALL_MASK and a null name are EINVAL; `base`
 * (if any) is reused for the result and must not be used afterwards, unless
 * the call fails, which leaves it untouched. */
void *staticdl_newlocale(int mask, const char *name, void *base)
{
    if (mask == 1 << GLIBC_LC_ALL)
        mask = GLIBC_LC_ALL_MASK;
    if ((mask & ~GLIBC_LC_ALL_MASK) || !name) {
        *__errno_location() = EINVAL_;
        return 0;
    }
    struct glibc_locale *g = base;
    if (base && g->locales[5] != MARK)
        g = 0; /* a host locale: never reused in place */
    const char *names[13];
    for (int i = 0; i < 13; i++) {
        if (i == GLIBC_LC_ALL)
            names[i] = 0;
        else if (mask & (1 << i))
            names[i] = resolve_name(i, name);
        else
            names[i] = g ? g->names[i] : c_name;
    }
    struct glibc_locale *fresh[1] = {0};
    const char *copied[13] = {0};
    int ok = 1;
    for (int i = 0; i < 13 && ok; i++)
        if (names[i])
            ok = copy_name(&copied[i], names[i]);
    if (ok && !g)
        ok = (fresh[0] = wrap(0)) != 0;
    mlocale host = 0;
    if (ok) {
        host = newlocale(mask & HOST_MASK, name,
                         g ? g->locales[0] : staticdl_locale_unwrap(base));
        ok = host != 0;
    }
    if (!ok) {
        for (int i = 0; i < 13; i++)
            if (copied[i] && copied[i] != c_name)
                free((void *)copied[i]);
        free(fresh[0]);
        if (*__errno_location() == 0)
            *__errno_location() = ENOMEM_;
        return 0;
    }
    struct glibc_locale *out = g ? g : fresh[0];
    free_names(out);
    out->locales[0] = host;
    for (int i = 0; i < 13; i++)
        out->names[i] = copied[i];
    return out;
}

void *staticdl_duplocale(void *loc)
{
    struct glibc_locale *src = loc;
    int ours = loc != GLOBAL_LOCALE && loc && src->locales[5] == MARK;
    mlocale host = duplocale(ours ? src->locales[0] : loc);
    if (!host)
        return 0;
    struct glibc_locale *g = wrap(host);
    int ok = g != 0;
    for (int i = 0; i < 13 && ok; i++)
        if (i != GLIBC_LC_ALL)
            ok = copy_name(&g->names[i], ours ? src->names[i] : c_name);
    if (!ok) {
        if (g)
            free_names(g);
        free(g);
        freelocale(host);
        *__errno_location() = ENOMEM_;
        return 0;
    }
    return g;
}

void staticdl_freelocale(void *loc)
{
    struct glibc_locale *g = loc;
    if (!loc || loc == GLOBAL_LOCALE)
        return;
    if (g->locales[5] != MARK) {
        freelocale(loc);
        return;
    }
    freelocale(g->locales[0]);
    free_names(g);
    g->locales[5] = 0;
    free(g);
}

/* The locale this thread installed through uselocale, and a wrapper for a
 * host locale installed by the host's own code (never freed: the plugin did
 * not allocate it). */
static __thread struct glibc_locale *current;
static __thread struct glibc_locale foreign;

void *staticdl_uselocale(void *loc)
{
    mlocale old = uselocale(staticdl_locale_unwrap(loc));
    void *prev;
    if (old == GLOBAL_LOCALE)
        prev = GLOBAL_LOCALE;
    else if (current && current->locales[0] == old)
        prev = current;
    else {
        foreign.locales[0] = old;
        foreign.locales[5] = MARK;
        foreign.ctype_b = *__ctype_b_loc();
        foreign.ctype_tolower = *staticdl_ctype_tolower_loc();
        foreign.ctype_toupper = *staticdl_ctype_toupper_loc();
        for (int i = 0; i < 13; i++)
            foreign.names[i] = i == GLIBC_LC_ALL ? 0 : c_name;
        prev = &foreign;
    }
    if (loc) {
        struct glibc_locale *g = loc;
        current = loc != GLOBAL_LOCALE && g->locales[5] == MARK && g != &foreign ? g : 0;
    }
    return prev;
}

/* ---- nl_langinfo with glibc's item numbers ---- */

struct lconv_;
extern struct lconv_ *localeconv(void);

#define ITEM(cat, idx) (((cat) << 16) | (idx))

/* A glibc "word" item: the value sits in the pointer's bits. */
static char *word(unsigned v)
{
    return (char *)(unsigned long)v;
}

/* glibc's wide time items (_NL_WABDAY_1 .. _NL_WERA_T_FMT) as the narrow item
 * of the same meaning, or -1. */
static int narrow_time_item(int idx)
{
    if (idx >= 0x34 && idx <= 0x5f)
        return idx - 0x34;
    if (idx >= 0x60 && idx <= 0x64)
        return idx - 0x33;
    return -1;
}

#define WIDE_TIME_ITEMS (0x64 - 0x34 + 1)
#define WIDE_LEN 64
static wchar_t_ wide_time[2][WIDE_TIME_ITEMS][WIDE_LEN];
static int wide_state[2][WIDE_TIME_ITEMS]; /* 0 empty, 1 filling, 2 ready */

/* The host locale's narrow string, widened (the host's LC_TIME strings are
 * ASCII, the same in every locale of one codeset), filled once per item and
 * codeset so the pointer stays valid for ever. */
static char *wide_time_item(int idx, mlocale host)
{
    int utf8 = nl_langinfo_l(14, host)[0] == 'U';
    int *state = &wide_state[utf8][idx - 0x34];
    wchar_t_ *w = wide_time[utf8][idx - 0x34];
    int expected = 0;
    if (__atomic_compare_exchange_n(state, &expected, 1, 0, __ATOMIC_ACQUIRE,
                                    __ATOMIC_ACQUIRE)) {
        const char *s = nl_langinfo_l(ITEM(2, narrow_time_item(idx)), host);
        int i = 0;
        for (; s[i] && i < WIDE_LEN - 1; i++)
            w[i] = (wchar_t_)(unsigned char)s[i];
        w[i] = 0;
        __atomic_store_n(state, 2, __ATOMIC_RELEASE);
    } else {
        while (__atomic_load_n(state, __ATOMIC_ACQUIRE) != 2)
            __builtin_ia32_pause();
    }
    return (char *)w;
}

static char *langinfo(int item, mlocale host)
{
    int cat = item >> 16, idx = item & 0xffff;
    const char *radix = nl_langinfo_l(ITEM(1, 0), host);
    const char *thousands = nl_langinfo_l(ITEM(1, 1), host);
    switch (item) {
    case ITEM(1, 3): /* _NL_NUMERIC_DECIMAL_POINT_WC */
        return word((unsigned char)radix[0]);
    case ITEM(1, 4): /* _NL_NUMERIC_THOUSANDS_SEP_WC */
        return word((unsigned char)thousands[0]);
    case ITEM(1, 5):    /* _NL_NUMERIC_CODESET */
    case ITEM(4, 0x2d): /* _NL_MONETARY_CODESET */
        return langinfo(14, host);
    case ITEM(4, 0x2b): /* _NL_MONETARY_DECIMAL_POINT_WC */
    case ITEM(4, 0x2c): /* _NL_MONETARY_THOUSANDS_SEP_WC */
        return word(0); /* the host's mon_decimal_point/thousands_sep are "" */
    }
    if (cat == 2 && narrow_time_item(idx) >= 0)
        return wide_time_item(idx, host);
    if (cat == 4 && idx <= 0x15 && idx != 0xf) {
        /* INT_CURR_SYMBOL .. NEGATIVE_SIGN are "" in the host's (C) data, the
         * character items (INT_FRAC_DIGITS .. __INT_N_SIGN_POSN) CHAR_MAX, as
         * its localeconv() reports them. */
        static const char char_max[] = "\177";
        return (char *)(idx <= 6 ? "" : char_max);
    }
    if (item == 14 /* CODESET */) {
        /* glibc's name for ASCII, which the C locale uses; the provider's
         * iconv_open accepts it (gnu.c). */
        const char *cs = nl_langinfo_l(14, host);
        return (char *)(strcmp(cs, "ASCII") == 0 ? "ANSI_X3.4-1968" : cs);
    }
    return nl_langinfo_l(item, host);
}

char *staticdl_nl_langinfo_l(int item, void *loc)
{
    mlocale host = staticdl_locale_unwrap(loc);
    if (host == GLOBAL_LOCALE || host == 0)
        host = 0;
    if (!host) {
        /* The calling thread's locale (glibc's nl_langinfo). */
        mlocale cur = uselocale(0);
        if (cur == GLOBAL_LOCALE) {
            mlocale dup = duplocale(GLOBAL_LOCALE);
            if (!dup)
                return (char *)"";
            char *r = langinfo(item, dup);
            /* The strings are the host's static data, valid after the free. */
            freelocale(dup);
            return r;
        }
        host = cur;
    }
    return langinfo(item, host);
}

char *staticdl_nl_langinfo(int item)
{
    return staticdl_nl_langinfo_l(item, 0);
}
