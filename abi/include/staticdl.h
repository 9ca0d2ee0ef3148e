/*
 * staticdl.h - the C side of the staticdl plugin contract.
 *
 * Mirrors every #[repr(C)] type and constant of the Rust crate `staticdl-abi`
 * (abi/src) field for field; abi/tests/c_header.rs compiles this header against
 * sizes, alignments and offsets taken from the Rust definitions, so the two cannot
 * drift apart silently. Layouts are those of LP64 targets (x86_64, aarch64).
 *
 * The contract itself (what each field means, who frees what, the versioning
 * rule) is described in abi/README.md.
 *
 * A C plugin declares itself with the macros at the end of this file:
 *
 *     #include "staticdl.h"
 *
 *     int32_t add(int32_t a, int32_t b) { return a + b; }
 *
 *     int32_t hello(const staticdl_request *req, staticdl_response *resp) {
 *         static const staticdl_header headers[] = {
 *             STATICDL_HEADER("content-type", "text/plain"),
 *         };
 *         (void)req;
 *         staticdl_response_set(resp, 200, headers, STATICDL_COUNT(headers),
 *                               "hello", 5, NULL, NULL);
 *         return STATICDL_HANDLER_OK;
 *     }
 *
 *     static const staticdl_export exports[] = {
 *         STATICDL_EXPORT(add, "fn(i32,i32)->i32"),
 *         STATICDL_EXPORT_HANDLER(hello),
 *     };
 *     static const staticdl_route routes[] = {
 *         STATICDL_ROUTE("GET", "/hello", hello),
 *     };
 *     STATICDL_PLUGIN_WITH_ROUTES("hello", "1.0.0", exports, routes, NULL, NULL);
 *
 * Signatures are the canonical strings of the Rust crate: "fn(" argument types
 * separated by "," ")->" result type, without spaces except after "*const" and
 * "*mut". C types map to them as follows:
 *
 *     int8_t i8     int16_t i16    int32_t i32    int64_t i64    intptr_t/ptrdiff_t isize
 *     uint8_t u8    uint16_t u16   uint32_t u32   uint64_t u64   uintptr_t/size_t usize
 *     float f32     double f64     bool bool      void (result only) ()
 *     const T * -> "*const T"      T * -> "*mut T"   where T is one of the above,
 *     c_void (for void), Request, Response, Header or HostApi
 *
 * so `size_t f(const char *s, double x)` is "fn(*const u8,f64)->usize" (write
 * char as u8) and `void g(void)` is "fn()->()".
 */
#ifndef STATICDL_H
#define STATICDL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Constants ---------------------------------------------------------- */

/* Version of the contract; a host accepts only plugins with the same value. */
#define STATICDL_ABI_VERSION 1u
/* Initialiser for staticdl_plugin.magic: "staticdl" in ASCII, no terminator. */
#define STATICDL_MAGIC_INIT { 's', 't', 'a', 't', 'i', 'c', 'd', 'l' }
/* Name of the exported descriptor. */
#define STATICDL_DESCRIPTOR_SYMBOL "STATICDL_PLUGIN"
/* Longest signature string a Rust plugin can produce, in bytes. */
#define STATICDL_SIGNATURE_MAX 128
/* Signature of every HTTP handler (staticdl_handler_fn). */
#define STATICDL_HANDLER_SIGNATURE "fn(*const Request,*mut Response)->i32"

/* Results of init. Any other non-zero value is a plugin-defined failure. */
#define STATICDL_INIT_OK 0
#define STATICDL_INIT_FAILED (-1)
#define STATICDL_INIT_PANICKED (-2)
#define STATICDL_INIT_BAD_HOST (-3)

/* Results of a handler. Any other non-zero value is a plugin-defined failure. */
#define STATICDL_HANDLER_OK 0
#define STATICDL_HANDLER_ERROR 1
#define STATICDL_HANDLER_PANICKED 2
#define STATICDL_HANDLER_BAD_ARGS 3

/* Log levels (staticdl_host_api.log). */
#define STATICDL_LOG_ERROR 1u
#define STATICDL_LOG_WARN 2u
#define STATICDL_LOG_INFO 3u
#define STATICDL_LOG_DEBUG 4u
#define STATICDL_LOG_TRACE 5u

/* ---- Views --------------------------------------------------------------- */

/* UTF-8 text, not NUL-terminated. Rust: AbiStr. */
typedef struct staticdl_str {
    const char *ptr;
    size_t len;
} staticdl_str;

/* Borrowed bytes. Rust: Bytes<'a>. */
typedef struct staticdl_bytes {
    const uint8_t *ptr;
    size_t len;
} staticdl_bytes;

/* ---- Host API table (passed to init) ------------------------------------- */

/* Rust: HostApi. Every entry may be NULL; entries past `size` are absent. */
typedef struct staticdl_host_api {
    uint32_t abi_version; /* STATICDL_ABI_VERSION of the host */
    uint32_t size;        /* sizeof(staticdl_host_api) as the host knows it */
    void (*log)(uint32_t level, const uint8_t *message, size_t len);
    uint8_t *(*alloc)(size_t size, size_t align);
    void (*dealloc)(uint8_t *ptr, size_t size, size_t align);
    uint8_t *(*realloc)(uint8_t *ptr, size_t old_size, size_t align, size_t new_size);
} staticdl_host_api;

/* ---- Descriptor ---------------------------------------------------------- */

/* One exported function. Rust: ExportDesc. */
typedef struct staticdl_export {
    staticdl_str name;      /* unique within the plugin */
    staticdl_str signature; /* canonical signature, e.g. "fn(i32,i32)->i32" */
    const void *addr;       /* the function; never NULL */
} staticdl_export;

/* One HTTP route. Rust: Route. */
typedef struct staticdl_route {
    staticdl_str method;  /* "GET", ...; never empty */
    staticdl_str path;    /* starts with '/' */
    staticdl_str handler; /* name of an export with STATICDL_HANDLER_SIGNATURE */
} staticdl_route;

/* Called once after loading with a table valid until unloading. Rust: InitFn. */
typedef int32_t (*staticdl_init_fn)(const staticdl_host_api *host);
/* Called once before unloading. Rust: FiniFn. */
typedef void (*staticdl_fini_fn)(void);

/* The descriptor, exported as STATICDL_PLUGIN. Rust: PluginDescriptor. */
typedef struct staticdl_plugin {
    uint8_t magic[8];     /* STATICDL_MAGIC_INIT */
    uint32_t abi_version; /* STATICDL_ABI_VERSION */
    uint32_t size;        /* sizeof(staticdl_plugin) */
    staticdl_str name;
    staticdl_str version;
    const staticdl_export *exports;
    size_t export_count;
    staticdl_init_fn init; /* may be NULL */
    staticdl_fini_fn fini; /* may be NULL */
    const staticdl_route *routes; /* may be NULL when route_count is 0 */
    size_t route_count;
} staticdl_plugin;

/* ---- Handler contract ----------------------------------------------------- */

/* Rust: Header<'a>. */
typedef struct staticdl_header {
    staticdl_bytes name;
    staticdl_bytes value;
} staticdl_header;

/* Borrowed from the host for the duration of one call. Rust: Request<'a>. */
typedef struct staticdl_request {
    staticdl_bytes method;
    staticdl_bytes path;
    staticdl_bytes query; /* after '?', without it; empty if none */
    const staticdl_header *headers;
    size_t header_count;
    staticdl_bytes body;
} staticdl_request;

typedef struct staticdl_response staticdl_response;

/* Frees what the plugin attached to a response. Rust: ReleaseFn. */
typedef void (*staticdl_release_fn)(staticdl_response *response);

/*
 * Filled by the plugin; the host passes a zeroed one. The memory behind `headers`
 * and `body` belongs to the plugin; the host calls `release(response)` exactly
 * once when done (if not NULL) and never frees it itself. Rust: Response.
 */
struct staticdl_response {
    uint16_t status;     /* 0: never set */
    uint8_t reserved[6]; /* zero */
    const staticdl_header *headers;
    size_t header_count;
    staticdl_bytes body;
    staticdl_release_fn release;
    void *release_data; /* read only by `release` */
};

/* An HTTP handler. Rust: HandlerFn. */
typedef int32_t (*staticdl_handler_fn)(const staticdl_request *request, staticdl_response *response);

/*
 * Sets every field of `response`, first releasing what it held. With
 * `release == NULL` the headers and body must be static. Rust: Response::set_raw.
 */
static inline void staticdl_response_set(staticdl_response *response, uint16_t status,
                                         const staticdl_header *headers, size_t header_count,
                                         const void *body, size_t body_len,
                                         staticdl_release_fn release, void *release_data) {
    if (response->release != NULL) {
        staticdl_release_fn previous = response->release;
        response->release = NULL;
        previous(response);
    }
    response->status = status;
    response->headers = headers;
    response->header_count = header_count;
    response->body.ptr = (const uint8_t *)body;
    response->body.len = body_len;
    response->release = release;
    response->release_data = release_data;
}

/* ---- Declaration macros --------------------------------------------------- */

/* A staticdl_str / staticdl_bytes initialiser from a string literal. */
#define STATICDL_STR(literal) { (literal), sizeof(literal) - 1 }
#define STATICDL_BYTES(literal) { (const uint8_t *)(literal), sizeof(literal) - 1 }
/* A staticdl_header initialiser from two string literals. */
#define STATICDL_HEADER(name, value) { STATICDL_BYTES(name), STATICDL_BYTES(value) }
/* Element count of an array. */
#define STATICDL_COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* Exports function `fn` under its own name with a signature string literal. */
#define STATICDL_EXPORT(fn, signature) STATICDL_EXPORT_AS(#fn, fn, signature)
/* Exports function `fn` under the name `name` (a string literal). */
#define STATICDL_EXPORT_AS(name, fn, signature) \
    { STATICDL_STR(name), STATICDL_STR(signature), (const void *)(fn) }
/* Exports a staticdl_handler_fn under its own name. */
#define STATICDL_EXPORT_HANDLER(fn) STATICDL_EXPORT(fn, STATICDL_HANDLER_SIGNATURE)
/* A route to the handler export named `handler` (an identifier). */
#define STATICDL_ROUTE(method, path, handler) \
    { STATICDL_STR(method), STATICDL_STR(path), STATICDL_STR(#handler) }

#if defined(__GNUC__)
#define STATICDL_EXPORTED __attribute__((visibility("default"), used))
#else
#define STATICDL_EXPORTED
#endif

/*
 * Defines the exported descriptor. `exports_` and `routes_` are arrays (not
 * pointers); `init_` and `fini_` are functions or NULL.
 */
#define STATICDL_PLUGIN_WITH_ROUTES(name_, version_, exports_, routes_, init_, fini_) \
    extern const staticdl_plugin STATICDL_PLUGIN;                                     \
    STATICDL_EXPORTED const staticdl_plugin STATICDL_PLUGIN = {                        \
        STATICDL_MAGIC_INIT,                                                           \
        STATICDL_ABI_VERSION,                                                          \
        (uint32_t)sizeof(staticdl_plugin),                                             \
        STATICDL_STR(name_),                                                           \
        STATICDL_STR(version_),                                                        \
        (exports_),                                                                    \
        STATICDL_COUNT(exports_),                                                      \
        (init_),                                                                       \
        (fini_),                                                                       \
        (routes_),                                                                     \
        STATICDL_COUNT(routes_),                                                       \
    }

/* Defines the exported descriptor of a plugin without routes. */
#define STATICDL_PLUGIN_DEFINE(name_, version_, exports_, init_, fini_) \
    extern const staticdl_plugin STATICDL_PLUGIN;                        \
    STATICDL_EXPORTED const staticdl_plugin STATICDL_PLUGIN = {           \
        STATICDL_MAGIC_INIT,                                              \
        STATICDL_ABI_VERSION,                                             \
        (uint32_t)sizeof(staticdl_plugin),                                \
        STATICDL_STR(name_),                                              \
        STATICDL_STR(version_),                                           \
        (exports_),                                                       \
        STATICDL_COUNT(exports_),                                         \
        (init_),                                                          \
        (fini_),                                                          \
        NULL,                                                             \
        0,                                                                \
    }

#ifdef __cplusplus
}
#endif

#endif /* STATICDL_H */
