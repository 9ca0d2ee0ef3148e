/*
 * staticdl_intercept.h: interceptors for plugins of a host that loads them
 * with staticdl (for example a plugin preloaded with STATICDL_PRELOAD).
 *
 * Every object loaded through staticdl's facade can import the two functions
 * below: the host offers them as host symbols (after every loaded object), so
 * nothing is linked. A registration applies to the objects the host loads
 * afterwards: their imports (STATICDL_TRAP_IMPORTS) are bound to stubs while
 * they are relocated, and their exports (STATICDL_TRAP_EXPORTS, or the HTTP
 * handlers their descriptor declares, STATICDL_TRAP_HANDLERS) are handed out
 * as stubs by the host's lookups and by dlsym. No code is patched.
 *
 * Chains: the pres of a call run in registration order; the first that
 * returns STATICDL_RETURN stops the chain (the target is not called: the call
 * returns what the hooks put in `ret`/`ret_vec`); the posts run in reverse for
 * every interceptor whose pre ran. A hook's own calls are not intercepted.
 * errno reaches the caller as the target left it (or as a hook set
 * `errno_value`). A call with a post copies 16 words of stack arguments for its
 * target: a function with more must not get a post.
 *
 * Mirrors staticdl::intercept::CCall (Rust).
 */
#ifndef STATICDL_INTERCEPT_H
#define STATICDL_INTERCEPT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a hook sees of one call. Fields marked writable are read back after
 * the hook returns. */
typedef struct staticdl_call {
    uint32_t size;            /* sizeof(staticdl_call) as the host knows it */
    uint32_t kind;            /* 1: an import; 2: an export */
    const char *symbol;
    const char *version;      /* the version the importer asks for, or NULL */
    const char *object;       /* the calling object (imports), the defining one (exports) */
    uintptr_t target;         /* where the call goes; writable in a pre (a redirect) */
    uintptr_t return_address; /* where the call returns to */
    uint64_t *int_args;       /* rdi, rsi, rdx, rcx, r8, r9; writable in a pre */
    uint64_t (*vec_args)[2];  /* xmm0..xmm7 as two 64-bit halves; writable in a pre */
    uint64_t *stack_args;     /* the caller's stack arguments */
    uint32_t stack_words;     /* how many words of stack_args may be read */
    uint32_t depth;           /* intercepted calls of this thread running, this one included */
    int32_t errno_value;      /* the caller's (pre) or the target's (post); writable */
    uint32_t phase;           /* 0: pre; 1: post */
    uint32_t unwinding;       /* post: the call ends by an exception passing through */
    uint32_t returned;        /* post: a pre returned instead of calling the target */
    uint64_t ret[2];          /* rax, rdx on return; writable */
    uint64_t ret_vec[2][2];   /* xmm0, xmm1 on return; writable */
    uint64_t data;            /* this hook's slot, from its pre to its post; writable */
} staticdl_call;

#define STATICDL_CONTINUE 0
#define STATICDL_RETURN 1

typedef int (*staticdl_pre_fn)(staticdl_call *call, void *user);
typedef void (*staticdl_post_fn)(staticdl_call *call, void *user);

/* `what` for staticdl_intercept, with the flags below or-ed in. */
#define STATICDL_TRAP_IMPORTS 1  /* PLT slots of matching imports */
#define STATICDL_TRAP_EXPORTS 2  /* matching exports */
#define STATICDL_TRAP_HANDLERS 3 /* exports the descriptor declares as HTTP handlers */
#define STATICDL_TRAP_GOT 0x10      /* imports: also GOT entries (-fno-plt, address taken) */
#define STATICDL_TRAP_POINTERS 0x20 /* imports: also 64-bit pointers in data */

/* Registers pre and post (either may be NULL) for every object loaded from
 * now on: `symbols` is a glob (`*`, `?`; NULL for every symbol), `objects` a
 * glob on the object's file name (or its path, if it has a '/'; NULL for
 * every object). Returns the registration's id, or 0 (errno EINVAL) for an
 * unknown `what`. */
uint64_t staticdl_intercept(int what, const char *symbols, const char *objects,
                            staticdl_pre_fn pre, staticdl_post_fn post, void *user);

/* Removes a registration: 0, or -1 (errno ENOENT) for an unknown id. */
int staticdl_intercept_remove(uint64_t id);

#ifdef __cplusplus
}
#endif

#endif
