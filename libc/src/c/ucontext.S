/*
 * glibc's <ucontext.h> calls for x86-64: getcontext, setcontext, swapcontext
 * and the start trampoline that makecontext (ucontext.c) puts under a new
 * context's entry function, over glibc's `ucontext_t` layout (968 bytes: the
 * general registers at uc_mcontext.gregs, offset 40; the pointer to the
 * floating-point state at 224, which getcontext points at __fpregs_mem, 424;
 * the signal mask at 296), so a plugin's own reads and writes of uc_stack,
 * uc_link and the registers mean what they mean under glibc. The signal mask
 * is saved and restored with rt_sigprocmask, the x87 environment with
 * fnstenv/fldenv and SSE's control word with stmxcsr/ldmxcsr, as glibc does.
 * Shadow stacks are not handled (a static musl host never enables them).
 *
 * Owns these four entry points; makecontext is in ucontext.c.
 */

#define oR8 40
#define oR9 48
#define oR12 72
#define oR13 80
#define oR14 88
#define oR15 96
#define oRDI 104
#define oRSI 112
#define oRBP 120
#define oRBX 128
#define oRDX 136
#define oRCX 152
#define oRSP 160
#define oRIP 168
#define oFPREGS 224
#define oSIGMASK 296
#define oFPREGSMEM 424
#define oMXCSR 24

#define SYS_rt_sigprocmask 14
#define SIG_BLOCK 0
#define SIG_SETMASK 2

    .text

/* Stores the caller's registers into the context at %rdi; as seen by the
 * caller of the function that called this macro (the return address and the
 * stack pointer after the return). Leaves %rdi unchanged, clobbers %rcx. */
.macro save_context
    mov %rbx, oRBX(%rdi)
    mov %rbp, oRBP(%rdi)
    mov %r12, oR12(%rdi)
    mov %r13, oR13(%rdi)
    mov %r14, oR14(%rdi)
    mov %r15, oR15(%rdi)
    mov %rdi, oRDI(%rdi)
    mov %rsi, oRSI(%rdi)
    mov %rdx, oRDX(%rdi)
    mov %rcx, oRCX(%rdi)
    mov %r8, oR8(%rdi)
    mov %r9, oR9(%rdi)
    mov (%rsp), %rcx
    mov %rcx, oRIP(%rdi)
    lea 8(%rsp), %rcx
    mov %rcx, oRSP(%rdi)
    lea oFPREGSMEM(%rdi), %rcx
    mov %rcx, oFPREGS(%rdi)
    fnstenv (%rcx)
    fldenv (%rcx)
    stmxcsr oMXCSR(%rcx)
.endm

/* Loads the context at %r15 (whose signal mask is already installed) and
 * continues there. */
.macro load_context
    mov oFPREGS(%r15), %rcx
    fldenv (%rcx)
    ldmxcsr oMXCSR(%rcx)
    mov oRSP(%r15), %rsp
    mov oRBX(%r15), %rbx
    mov oRBP(%r15), %rbp
    mov oR12(%r15), %r12
    mov oR13(%r15), %r13
    mov oR14(%r15), %r14
    pushq oRIP(%r15)
    mov oRDI(%r15), %rdi
    mov oRSI(%r15), %rsi
    mov oRDX(%r15), %rdx
    mov oRCX(%r15), %rcx
    mov oR8(%r15), %r8
    mov oR9(%r15), %r9
    mov oR15(%r15), %r15
    xor %eax, %eax
    ret
.endm

/* int getcontext(ucontext_t *ucp) */
    .globl staticdl_getcontext
    .type staticdl_getcontext, @function
    .p2align 4
staticdl_getcontext:
    .cfi_startproc
    save_context
    lea oSIGMASK(%rdi), %rdx
    xor %esi, %esi
    mov $SIG_BLOCK, %edi
    mov $8, %r10d
    mov $SYS_rt_sigprocmask, %eax
    syscall
    cmp $-4095, %rax
    jae 1f
    xor %eax, %eax
    ret
1:  mov %rax, %rdi
    jmp staticdl_ucontext_error@PLT
    .cfi_endproc
    .size staticdl_getcontext, . - staticdl_getcontext

/* int setcontext(const ucontext_t *ucp) */
    .globl staticdl_setcontext
    .type staticdl_setcontext, @function
    .p2align 4
staticdl_setcontext:
    .cfi_startproc
    push %r15
    .cfi_adjust_cfa_offset 8
    mov %rdi, %r15
    lea oSIGMASK(%rdi), %rsi
    xor %edx, %edx
    mov $SIG_SETMASK, %edi
    mov $8, %r10d
    mov $SYS_rt_sigprocmask, %eax
    syscall
    cmp $-4095, %rax
    jae 1f
    load_context
1:  pop %r15
    .cfi_adjust_cfa_offset -8
    mov %rax, %rdi
    jmp staticdl_ucontext_error@PLT
    .cfi_endproc
    .size staticdl_setcontext, . - staticdl_setcontext

/* int swapcontext(ucontext_t *oucp, const ucontext_t *ucp) */
    .globl staticdl_swapcontext
    .type staticdl_swapcontext, @function
    .p2align 4
staticdl_swapcontext:
    .cfi_startproc
    save_context
    push %r15
    .cfi_adjust_cfa_offset 8
    mov %rsi, %r15
    lea oSIGMASK(%rdi), %rdx
    lea oSIGMASK(%rsi), %rsi
    mov $SIG_SETMASK, %edi
    mov $8, %r10d
    mov $SYS_rt_sigprocmask, %eax
    syscall
    cmp $-4095, %rax
    jae 1f
    load_context
1:  pop %r15
    .cfi_adjust_cfa_offset -8
    mov %rax, %rdi
    jmp staticdl_ucontext_error@PLT
    .cfi_endproc
    .size staticdl_swapcontext, . - staticdl_swapcontext

/* Where a makecontext entry function returns to: %rbx points at the stack
 * slot holding uc_link. Resume uc_link, or exit(0) if it is null (glibc's
 * behaviour), or exit with setcontext's failure. */
    .globl staticdl_start_context
    .type staticdl_start_context, @function
    .p2align 4
staticdl_start_context:
    .cfi_startproc
    .cfi_undefined rip
    mov %rbx, %rsp
    mov (%rsp), %rdi
    and $-16, %rsp
    test %rdi, %rdi
    je 1f
    call staticdl_setcontext
    mov %eax, %edi
    jmp 2f
1:  xor %edi, %edi
2:  call exit@PLT
    hlt
    .cfi_endproc
    .size staticdl_start_context, . - staticdl_start_context

    .section .note.GNU-stack,"",@progbits
