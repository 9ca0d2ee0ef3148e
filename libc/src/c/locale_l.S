/*
 * The `*_l` functions for glibc-shaped locales (see locale.c): each
 * `staticdl_NAME` replaces its locale argument, when it is one of the
 * provider's glibc-shaped locales (the mark at offset 40), by the host locale
 * it carries (offset 0), then jumps to the host's NAME with every other
 * register untouched, so variadic functions (strfmon_l) and floating-point
 * results pass through unchanged. Null, LC_GLOBAL_LOCALE and host locales are
 * passed on as they are.
 *
 * Owns only these trampolines; which glibc names reach them is decided by the
 * table (`table/glibc_only.rs`).
 */

#define MARK 0x4c4c44434954415f

    .text

/* locale_trampoline NAME, REG: REG holds the locale argument. */
.macro locale_trampoline name, reg
    .globl staticdl_\name
    .type staticdl_\name, @function
    .p2align 4
staticdl_\name:
    .cfi_startproc
    test \reg, \reg
    jz 1f
    cmp $-1, \reg
    je 1f
    movabs $MARK, %r11
    cmp %r11, 40(\reg)
    jne 1f
    mov (\reg), \reg
1:  jmp \name@PLT
    .cfi_endproc
    .size staticdl_\name, . - staticdl_\name
.endm

/* locale in %rsi */
    locale_trampoline isalnum_l, %rsi
    locale_trampoline isalpha_l, %rsi
    locale_trampoline isblank_l, %rsi
    locale_trampoline iscntrl_l, %rsi
    locale_trampoline isdigit_l, %rsi
    locale_trampoline isgraph_l, %rsi
    locale_trampoline islower_l, %rsi
    locale_trampoline isprint_l, %rsi
    locale_trampoline ispunct_l, %rsi
    locale_trampoline isspace_l, %rsi
    locale_trampoline isupper_l, %rsi
    locale_trampoline isxdigit_l, %rsi
    locale_trampoline tolower_l, %rsi
    locale_trampoline toupper_l, %rsi
    locale_trampoline iswalnum_l, %rsi
    locale_trampoline iswalpha_l, %rsi
    locale_trampoline iswblank_l, %rsi
    locale_trampoline iswcntrl_l, %rsi
    locale_trampoline iswdigit_l, %rsi
    locale_trampoline iswgraph_l, %rsi
    locale_trampoline iswlower_l, %rsi
    locale_trampoline iswprint_l, %rsi
    locale_trampoline iswpunct_l, %rsi
    locale_trampoline iswspace_l, %rsi
    locale_trampoline iswupper_l, %rsi
    locale_trampoline iswxdigit_l, %rsi
    locale_trampoline towlower_l, %rsi
    locale_trampoline towupper_l, %rsi
    locale_trampoline wctype_l, %rsi
    locale_trampoline wctrans_l, %rsi
    locale_trampoline strerror_l, %rsi

/* locale in %rdx */
    locale_trampoline iswctype_l, %rdx
    locale_trampoline towctrans_l, %rdx
    locale_trampoline strcoll_l, %rdx
    locale_trampoline wcscoll_l, %rdx
    locale_trampoline strcasecmp_l, %rdx
    locale_trampoline wcscasecmp_l, %rdx
    locale_trampoline strtod_l, %rdx
    locale_trampoline strtof_l, %rdx
    locale_trampoline strtold_l, %rdx
    locale_trampoline strfmon_l, %rdx

/* locale in %rcx */
    locale_trampoline strxfrm_l, %rcx
    locale_trampoline wcsxfrm_l, %rcx
    locale_trampoline strncasecmp_l, %rcx
    locale_trampoline wcsncasecmp_l, %rcx

/* locale in %r8 */
    locale_trampoline strftime_l, %r8
    locale_trampoline wcsftime_l, %r8

    .section .note.GNU-stack,"",@progbits
