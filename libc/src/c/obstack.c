/*
 * glibc's obstacks (<obstack.h>, interface version 1): the out-of-line half of
 * the header's macros. The macros themselves are compiled into the plugin and
 * read and write `struct obstack` directly, so the layout below is glibc's
 * x86-64 one, and the chunk growth, alignment and freeing rules are the ones
 * the macros expect: `_obstack_begin`, `_obstack_begin_1`,
 * `_obstack_newchunk`, `obstack_free` (also `_obstack_free`),
 * `_obstack_allocated_p`, `_obstack_memory_used`, `obstack_printf` and
 * `obstack_vprintf` (and their `__*_chk` forms), and the variables
 * `obstack_alloc_failed_handler` and `obstack_exit_failure`.
 *
 * Owns these only; the table answers the glibc names with them.
 */

#include "shims.h"

struct chunk {
    char *limit;
    struct chunk *prev;
    char contents[4];
};

struct obstack {
    long chunk_size;
    struct chunk *chunk;
    char *object_base;
    char *next_free;
    char *chunk_limit;
    long temp;
    int alignment_mask;
    void *chunkfun;
    void *freefun;
    void *extra_arg;
    unsigned use_extra_arg : 1;
    unsigned maybe_empty_object : 1;
    unsigned alloc_failed : 1;
};
_Static_assert(sizeof(struct obstack) == 88, "glibc ABI");
_Static_assert(__builtin_offsetof(struct obstack, alignment_mask) == 48, "glibc ABI");

/* glibc's defaults: the alignment and rounding of a union of uintmax_t,
 * long double and void * (16 on x86-64), and 4064-byte chunks. */
#define DEFAULT_ALIGNMENT 16
#define DEFAULT_CHUNK 4064

extern void exit(int) __attribute__((noreturn));

int staticdl_obstack_exit_failure = 1;

static void print_and_exit(void)
{
    static const char msg[] = "memory exhausted\n";
    write(2, msg, sizeof msg - 1);
    exit(staticdl_obstack_exit_failure);
}

void (*staticdl_obstack_alloc_failed_handler)(void) = print_and_exit;

static char *align(char *p, long mask)
{
    return (char *)(((unsigned long)p + (unsigned long)mask) & ~(unsigned long)mask);
}

static struct chunk *call_chunkfun(struct obstack *h, long size)
{
    if (h->use_extra_arg)
        return ((struct chunk * (*)(void *, long)) h->chunkfun)(h->extra_arg, size);
    return ((struct chunk * (*)(long)) h->chunkfun)(size);
}

static void call_freefun(struct obstack *h, struct chunk *c)
{
    if (h->use_extra_arg)
        ((void (*)(void *, void *))h->freefun)(h->extra_arg, c);
    else
        ((void (*)(void *))h->freefun)(c);
}

static int begin(struct obstack *h, int size, int alignment)
{
    if (alignment == 0)
        alignment = DEFAULT_ALIGNMENT;
    if (size == 0)
        size = DEFAULT_CHUNK;
    h->chunk_size = size;
    h->alignment_mask = alignment - 1;
    struct chunk *c = h->chunk = call_chunkfun(h, h->chunk_size);
    if (!c)
        staticdl_obstack_alloc_failed_handler();
    h->next_free = h->object_base = align(c->contents, h->alignment_mask);
    h->chunk_limit = c->limit = (char *)c + h->chunk_size;
    c->prev = 0;
    h->maybe_empty_object = 0;
    h->alloc_failed = 0;
    return 1;
}

int staticdl_obstack_begin(struct obstack *h, int size, int alignment,
                           void *(*chunkfun)(long), void (*freefun)(void *))
{
    h->chunkfun = (void *)chunkfun;
    h->freefun = (void *)freefun;
    h->use_extra_arg = 0;
    return begin(h, size, alignment);
}

int staticdl_obstack_begin_1(struct obstack *h, int size, int alignment,
                             void *(*chunkfun)(void *, long),
                             void (*freefun)(void *, void *), void *arg)
{
    h->chunkfun = (void *)chunkfun;
    h->freefun = (void *)freefun;
    h->extra_arg = arg;
    h->use_extra_arg = 1;
    return begin(h, size, alignment);
}

/* Room for `length` more bytes: a new chunk, the current object copied to
 * its start; the old chunk is freed if the object was all it held. */
void staticdl_obstack_newchunk(struct obstack *h, int length)
{
    struct chunk *old = h->chunk;
    long obj_size = h->next_free - h->object_base;
    long new_size = obj_size + length + (obj_size >> 3) + h->alignment_mask + 100;
    if (new_size < h->chunk_size)
        new_size = h->chunk_size;
    struct chunk *c = call_chunkfun(h, new_size);
    if (!c)
        staticdl_obstack_alloc_failed_handler();
    h->chunk = c;
    c->prev = old;
    c->limit = h->chunk_limit = (char *)c + new_size;
    char *base = align(c->contents, h->alignment_mask);
    memcpy(base, h->object_base, (size_t)obj_size);
    if (!h->maybe_empty_object &&
        h->object_base == align(old->contents, h->alignment_mask)) {
        c->prev = old->prev;
        call_freefun(h, old);
    }
    h->object_base = base;
    h->next_free = base + obj_size;
    h->maybe_empty_object = 0;
}

int staticdl_obstack_allocated_p(struct obstack *h, void *obj)
{
    struct chunk *c = h->chunk;
    while (c && ((void *)c >= obj || (void *)c->limit < obj))
        c = c->prev;
    return c != 0;
}

/* Frees every object allocated after `obj` (and `obj` itself), or the whole
 * obstack if `obj` is null. */
void staticdl_obstack_free(struct obstack *h, void *obj)
{
    struct chunk *c = h->chunk;
    while (c && ((void *)c >= obj || (void *)c->limit < obj)) {
        struct chunk *prev = c->prev;
        call_freefun(h, c);
        c = prev;
        h->maybe_empty_object = 1;
    }
    if (c) {
        h->object_base = h->next_free = obj;
        h->chunk_limit = c->limit;
        h->chunk = c;
    } else if (obj) {
        abort(); /* not an object of this obstack, as glibc does */
    }
}

int staticdl_obstack_memory_used(struct obstack *h)
{
    int n = 0;
    for (struct chunk *c = h->chunk; c; c = c->prev)
        n += (int)(c->limit - (char *)c);
    return n;
}

/* obstack_vprintf: the formatted text appended to the object being grown
 * (no terminating NUL is added to it); returns its length. */
int staticdl_obstack_vprintf(struct obstack *h, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    size_t room = (size_t)(h->chunk_limit - h->next_free);
    int n = vsnprintf(h->next_free, room, fmt, ap);
    if (n >= 0 && (size_t)n >= room) {
        staticdl_obstack_newchunk(h, n + 1);
        n = vsnprintf(h->next_free, (size_t)n + 1, fmt, again);
    }
    va_end(again);
    if (n > 0)
        h->next_free += n;
    return n;
}

int staticdl_obstack_printf(struct obstack *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = staticdl_obstack_vprintf(h, fmt, ap);
    va_end(ap);
    return n;
}

int staticdl_obstack_vprintf_chk(struct obstack *h, int flag, const char *fmt,
                                 va_list ap)
{
    (void)flag;
    return staticdl_obstack_vprintf(h, fmt, ap);
}

int staticdl_obstack_printf_chk(struct obstack *h, int flag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = staticdl_obstack_vprintf(h, fmt, ap);
    va_end(ap);
    (void)flag;
    return n;
}
