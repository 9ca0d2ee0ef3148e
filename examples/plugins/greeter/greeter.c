/*
 * greeter: an example handler plugin in C, built with gcc against
 * abi/include/staticdl.h and nothing else (no libc: -nostdlib).
 *
 * Routes:
 *   GET /hello       "hello <name>" (query parameter `name`, default "world"),
 *                    naming the caller's user-agent header and counting calls;
 *                    header x-plugin-version: <version>.
 *   GET /hello/fail  always fails: status 500 and a message, as a plugin whose
 *                    backend is down would.
 *
 * State: `calls`, a counter kept across requests (and threads: handlers run
 * concurrently, so it is updated atomically). Memory: the /hello body is
 * allocated with the host's allocator (host->alloc) and freed by the
 * response's release callback (host->dealloc), per the handler contract.
 *
 * GREETER_VERSION may be set on the command line (-DGREETER_VERSION='"2.0.0"')
 * to build a second version of the same plugin for hot-reload demonstrations.
 */

#include "staticdl.h"

#ifndef GREETER_VERSION
#define GREETER_VERSION "1.0.0"
#endif

static const staticdl_host_api *host;
static uint64_t calls;

static size_t text_len(const char *s)
{
    size_t n = 0;
    while (s[n] != 0)
        n++;
    return n;
}

static void log_text(uint32_t level, const char *text)
{
    if (host != NULL && host->log != NULL)
        host->log(level, (const uint8_t *)text, text_len(text));
}

/* A growing output buffer in a host-allocated block that starts with its
 * own capacity, so that release() can give it back with the right size. */
typedef struct {
    uint8_t *block; /* [size_t capacity][bytes...] */
    size_t len;
    size_t cap;
    int failed;
} buffer;

#define HEADER_SIZE sizeof(size_t)

static void put(buffer *b, const void *bytes, size_t n)
{
    const uint8_t *src = bytes;
    if (b->failed || b->len + n > b->cap) {
        b->failed = 1;
        return;
    }
    for (size_t i = 0; i < n; i++)
        b->block[HEADER_SIZE + b->len + i] = src[i];
    b->len += n;
}

static void put_text(buffer *b, const char *text)
{
    put(b, text, text_len(text));
}

static void put_u64(buffer *b, uint64_t v)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        put(b, &digits[--n], 1);
}

static void release_block(staticdl_response *response)
{
    uint8_t *block = response->release_data;
    host->dealloc(block, HEADER_SIZE + *(size_t *)(void *)block, sizeof(size_t));
}

static int eq_ignore_case(const uint8_t *a, size_t len, const char *b)
{
    size_t i = 0;
    for (; i < len; i++) {
        uint8_t x = a[i], y = (uint8_t)b[i];
        if (y == 0)
            return 0;
        if (x >= 'A' && x <= 'Z')
            x = (uint8_t)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (uint8_t)(y - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return b[i] == 0;
}

static staticdl_bytes header(const staticdl_request *request, const char *name)
{
    staticdl_bytes none = {NULL, 0};
    for (size_t i = 0; i < request->header_count; i++)
        if (eq_ignore_case(request->headers[i].name.ptr, request->headers[i].name.len, name))
            return request->headers[i].value;
    return none;
}

/* The raw value of query parameter `name` ("name=value" pairs split on '&'). */
static staticdl_bytes query_param(const staticdl_request *request, const char *name)
{
    staticdl_bytes none = {NULL, 0};
    const uint8_t *q = request->query.ptr;
    size_t len = request->query.len, start = 0;
    size_t name_len = text_len(name);
    while (start < len) {
        size_t end = start;
        while (end < len && q[end] != '&')
            end++;
        if (end - start > name_len && q[start + name_len] == '=') {
            size_t i = 0;
            while (i < name_len && q[start + i] == (uint8_t)name[i])
                i++;
            if (i == name_len) {
                staticdl_bytes value = {q + start + name_len + 1, end - start - name_len - 1};
                return value;
            }
        }
        start = end + 1;
    }
    return none;
}

int32_t greeter_hello(const staticdl_request *request, staticdl_response *response)
{
    static const staticdl_header headers[] = {
        STATICDL_HEADER("content-type", "text/plain; charset=utf-8"),
        STATICDL_HEADER("x-plugin-version", GREETER_VERSION),
    };
    static const char out_of_memory[] = "greeter: out of memory";
    uint64_t n = __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    staticdl_bytes name = query_param(request, "name");
    staticdl_bytes agent = header(request, "user-agent");
    if (name.len == 0) {
        name.ptr = (const uint8_t *)"world";
        name.len = 5;
    }
    if (name.len > 64)
        name.len = 64;
    if (agent.len > 128)
        agent.len = 128;

    buffer b = {NULL, 0, 256 + name.len + agent.len, 0};
    b.block = host->alloc(HEADER_SIZE + b.cap, sizeof(size_t));
    if (b.block == NULL) {
        staticdl_response_set(response, 500, NULL, 0, out_of_memory,
                              sizeof out_of_memory - 1, NULL, NULL);
        return STATICDL_HANDLER_ERROR;
    }
    *(size_t *)(void *)b.block = b.cap;
    put_text(&b, "hello ");
    put(&b, name.ptr, name.len);
    put_text(&b, ", from greeter " GREETER_VERSION " (C)");
    if (agent.len > 0) {
        put_text(&b, " to ");
        put(&b, agent.ptr, agent.len);
    }
    put_text(&b, "; call #");
    put_u64(&b, n);
    put_text(&b, "\n");
    staticdl_response_set(response, 200, headers, STATICDL_COUNT(headers),
                          b.block + HEADER_SIZE, b.len, release_block, b.block);
    return STATICDL_HANDLER_OK;
}

int32_t greeter_fail(const staticdl_request *request, staticdl_response *response)
{
    static const staticdl_header headers[] = {
        STATICDL_HEADER("content-type", "text/plain; charset=utf-8"),
    };
    static const char message[] = "greeter: the greeting backend is unavailable";
    (void)request;
    staticdl_response_set(response, 500, headers, STATICDL_COUNT(headers), message,
                          sizeof message - 1, NULL, NULL);
    return STATICDL_HANDLER_ERROR;
}

static int32_t greeter_init(const staticdl_host_api *table)
{
    if (table == NULL || table->abi_version != STATICDL_ABI_VERSION ||
        table->size < sizeof(staticdl_host_api) || table->alloc == NULL ||
        table->dealloc == NULL)
        return STATICDL_INIT_BAD_HOST;
    host = table;
    log_text(STATICDL_LOG_INFO, "greeter " GREETER_VERSION ": init");
    return STATICDL_INIT_OK;
}

static void greeter_fini(void)
{
    log_text(STATICDL_LOG_INFO, "greeter " GREETER_VERSION ": fini");
}

static const staticdl_export exports[] = {
    STATICDL_EXPORT_HANDLER(greeter_hello),
    STATICDL_EXPORT_HANDLER(greeter_fail),
};
static const staticdl_route routes[] = {
    STATICDL_ROUTE("GET", "/hello", greeter_hello),
    STATICDL_ROUTE("GET", "/hello/fail", greeter_fail),
};
STATICDL_PLUGIN_WITH_ROUTES("greeter", GREETER_VERSION, exports, routes, greeter_init,
                            greeter_fini);
