/*
 * POSIX regular expressions with glibc's types over the host's regex engine.
 *
 * glibc's `regex_t` (64 bytes) keeps `re_nsub` at offset 48, where musl's
 * keeps private data, and glibc's `regmatch_t` holds two `int` offsets where
 * musl's holds two `long`s. So `regcomp` keeps the host's compiled pattern in
 * a block of its own, pointed to by glibc's `buffer` field (offset 0), and
 * fills glibc's public fields (`re_nsub`, the `no_sub` and `newline_anchor`
 * bits); `regexec` converts the match array, and emulates glibc's
 * REG_STARTEND (match inside [pmatch[0].rm_so, pmatch[0].rm_eo)). The flag and
 * error values are the same in both C libraries. The pattern language is the
 * host's: POSIX basic and extended expressions, without glibc's GNU operators
 * (\w, \b, \<, ...).
 *
 * Owns these four functions only.
 */

#include "shims.h"

struct glibc_regex {
    void *buffer;         /* 0: the host's regex_t */
    unsigned long allocated;
    unsigned long used;
    unsigned long syntax;
    char *fastmap;
    unsigned char *translate;
    size_t re_nsub;       /* 48 */
    unsigned char bits;   /* 56: can_be_null, regs_allocated:2, fastmap_accurate,
                             no_sub, not_bol, not_eol, newline_anchor */
};
_Static_assert(__builtin_offsetof(struct glibc_regex, re_nsub) == 48, "glibc ABI");
_Static_assert(sizeof(struct glibc_regex) == 64, "glibc ABI");

struct glibc_match {
    int rm_so, rm_eo;
};
struct host_match {
    long rm_so, rm_eo;
};

#define HOST_REGEX_SIZE 64 /* musl's regex_t */
#define REG_NEWLINE_ 4
#define REG_NOSUB_ 8
#define REG_NOTBOL_ 1
#define REG_STARTEND_ 4
#define REG_NOMATCH_ 1
#define REG_ESPACE_ 12

extern int regcomp(void *, const char *, int);
extern int regexec(const void *, const char *, size_t, struct host_match *, int);
extern size_t regerror(int, const void *, char *, size_t);
extern void regfree(void *);
extern void *malloc(size_t);
extern void *calloc(size_t, size_t);
extern void free(void *);
extern char *strndup(const char *, size_t);

int staticdl_regcomp(struct glibc_regex *preg, const char *pattern, int cflags)
{
    void *host = calloc(1, HOST_REGEX_SIZE);
    if (!host)
        return REG_ESPACE_;
    int r = regcomp(host, pattern, cflags);
    if (r != 0) {
        free(host);
        preg->buffer = 0;
        return r;
    }
    preg->buffer = host;
    preg->allocated = HOST_REGEX_SIZE;
    preg->used = HOST_REGEX_SIZE;
    preg->syntax = 0;
    preg->fastmap = 0;
    preg->translate = 0;
    preg->re_nsub = *(size_t *)host; /* musl's re_nsub, its first field */
    preg->bits = (unsigned char)(((cflags & REG_NOSUB_) ? 1u << 4 : 0) |
                                 ((cflags & REG_NEWLINE_) ? 1u << 7 : 0));
    return 0;
}

int staticdl_regexec(const struct glibc_regex *preg, const char *string,
                     size_t nmatch, struct glibc_match *pmatch, int eflags)
{
    if (!preg->buffer)
        return REG_NOMATCH_;
    if (preg->bits & (1u << 4))
        nmatch = 0;
    struct host_match small[16];
    struct host_match *m = small;
    if (nmatch > 16) {
        if (nmatch > (size_t)-1 / sizeof *m || !(m = malloc(nmatch * sizeof *m)))
            return REG_ESPACE_;
    }
    long offset = 0;
    char *copy = 0;
    const char *subject = string;
    if (eflags & REG_STARTEND_) {
        offset = pmatch[0].rm_so;
        copy = strndup(string + offset, (size_t)(pmatch[0].rm_eo - offset));
        if (!copy) {
            if (m != small)
                free(m);
            return REG_ESPACE_;
        }
        subject = copy;
        if (offset > 0 && string[offset - 1] != '\n')
            eflags |= REG_NOTBOL_;
        eflags &= ~REG_STARTEND_;
    }
    int r = regexec(preg->buffer, subject, nmatch, m, eflags);
    if (r == 0)
        for (size_t i = 0; i < nmatch; i++) {
            pmatch[i].rm_so = m[i].rm_so < 0 ? -1 : (int)(m[i].rm_so + offset);
            pmatch[i].rm_eo = m[i].rm_eo < 0 ? -1 : (int)(m[i].rm_eo + offset);
        }
    free(copy);
    if (m != small)
        free(m);
    return r;
}

size_t staticdl_regerror(int errcode, const struct glibc_regex *preg,
                         char *buf, size_t size)
{
    return regerror(errcode, preg ? preg->buffer : 0, buf, size);
}

void staticdl_regfree(struct glibc_regex *preg)
{
    if (preg->buffer) {
        regfree(preg->buffer);
        free(preg->buffer);
    }
    preg->buffer = 0;
    preg->re_nsub = 0;
}
