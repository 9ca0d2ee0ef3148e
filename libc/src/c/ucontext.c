/*
 * makecontext over glibc's x86-64 `ucontext_t` (see ucontext.S, which has
 * getcontext, setcontext, swapcontext and the start trampoline), and the
 * errno report the assembly shares.
 *
 * The new context runs `func` on [uc_stack.ss_sp, ss_sp + ss_size) with its
 * first six arguments in registers and the rest on the stack, under a return
 * address into `staticdl_start_context`, which resumes `uc_link` (kept in the
 * stack slot above the arguments, found through %rbx) when `func` returns.
 */

#include "shims.h"

#define oRBX 128
#define oRSP 160
#define oRIP 168
static const int arg_regs[6] = {104 /* RDI */, 112 /* RSI */, 136 /* RDX */,
                                152 /* RCX */, 40 /* R8 */,   48 /* R9 */};

struct ucontext_head_ {
    unsigned long uc_flags;
    void *uc_link;
    void *ss_sp;
    int ss_flags;
    size_t ss_size;
};

extern void staticdl_start_context(void);

int staticdl_ucontext_error(long negative_errno)
{
    *__errno_location() = (int)-negative_errno;
    return -1;
}

void staticdl_makecontext(void *ucp, void (*func)(void), int argc, ...)
{
    struct ucontext_head_ *uc = ucp;
    char *base = ucp;
    unsigned long *top =
        (unsigned long *)((char *)uc->ss_sp + uc->ss_size);
    int on_stack = argc > 6 ? argc - 6 : 0;
    /* [sp] return address, [sp+1 ..] stack arguments, then uc_link; at the
     * entry of `func` the stack pointer is 8 modulo 16, as after a call. */
    unsigned long *sp = top - (on_stack + 2);
    sp = (unsigned long *)((((unsigned long)sp) & ~15UL) - 8);
    sp[0] = (unsigned long)staticdl_start_context;
    sp[on_stack + 1] = (unsigned long)uc->uc_link;
    *(unsigned long *)(base + oRIP) = (unsigned long)func;
    *(unsigned long *)(base + oRSP) = (unsigned long)sp;
    *(unsigned long *)(base + oRBX) = (unsigned long)&sp[on_stack + 1];
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc; i++) {
        unsigned long v = va_arg(ap, unsigned long);
        if (i < 6)
            *(unsigned long *)(base + arg_regs[i]) = v;
        else
            sp[i - 5] = v;
    }
    va_end(ap);
}
