/*
 * The few `libgcc_s.so.1` entry points that the host's compiler builtins
 * (Rust's compiler-builtins, which has the integer and floating-point ones)
 * lack, written so that gcc compiles them inline (no call back into a builtin
 * of the same name).
 *
 * Owns these functions only; the table (`table/math.rs`) maps the libgcc
 * names to them and to the host's builtins.
 */

#include "shims.h"

/* __ffsdi2: 1 + the index of the lowest set bit, 0 for 0. */
int staticdl_ffsdi2(long long x)
{
    unsigned long long u = (unsigned long long)x;
    return u ? __builtin_ctzll(u) + 1 : 0;
}

/* __clrsbdi2: the number of leading redundant sign bits. */
int staticdl_clrsbdi2(long long x)
{
    unsigned long long u = (unsigned long long)(x ^ (x >> 63));
    return u ? __builtin_clzll(u) - 1 : 63;
}

/* __clrsbti2, for 128-bit integers. */
int staticdl_clrsbti2(__int128 x)
{
    unsigned __int128 u = (unsigned __int128)(x ^ (x >> 127));
    unsigned long long hi = (unsigned long long)(u >> 64);
    unsigned long long lo = (unsigned long long)u;
    if (hi)
        return __builtin_clzll(hi) - 1;
    if (lo)
        return 64 + __builtin_clzll(lo) - 1;
    return 127;
}

/* __clear_cache: x86-64 keeps instruction fetches coherent with stores, so
 * there is nothing to flush (libgcc's x86 version does nothing either). */
void staticdl_clear_cache(char *begin, char *end)
{
    (void)begin;
    (void)end;
}

/* __enable_execute_stack: on Linux the stack's protection comes from
 * PT_GNU_STACK (staticdl refuses executable-stack objects unless allowed), and
 * libgcc's Linux version does nothing. */
void staticdl_enable_execute_stack(void *addr)
{
    (void)addr;
}

/* __negtf2: __float128 negation, the sign bit flipped. */
__float128 staticdl_negtf2(__float128 x)
{
    union {
        __float128 f;
        unsigned long long w[2];
    } u = {x};
    u.w[1] ^= 1ULL << 63;
    return u.f;
}

/* __powixf2: long double to an integer power by repeated squaring, as
 * libgcc computes it (the same rounding steps). */
long double staticdl_powixf2(long double x, int m)
{
    unsigned n = m < 0 ? -(unsigned)m : (unsigned)m;
    long double y = n % 2 ? x : 1;
    while (n >>= 1) {
        x = x * x;
        if (n % 2)
            y = y * x;
    }
    return m < 0 ? 1 / y : y;
}

/* __mulxc3: complex long double multiplication with C11 Annex G's recovery of
 * infinite results that the plain formula turns into NaN (the host's cpowl
 * needs it; the compiler builtins lack it). */
static int inf(long double x)
{
    return __builtin_isinf(x);
}

static long double box(long double x)
{
    /* an infinity becomes +-1, a finite value +-0, keeping the sign */
    return __builtin_copysignl(inf(x) ? 1.0L : 0.0L, x);
}

static long double unnan(long double x)
{
    return __builtin_isnan(x) ? __builtin_copysignl(0.0L, x) : x;
}

_Complex long double staticdl_mulxc3(long double a, long double b,
                                     long double c, long double d)
{
    long double ac = a * c, bd = b * d, ad = a * d, bc = b * c;
    long double x = ac - bd, y = ad + bc;
    if (__builtin_isnan(x) && __builtin_isnan(y)) {
        int again = 0;
        if (inf(a) || inf(b)) {
            a = box(a);
            b = box(b);
            c = unnan(c);
            d = unnan(d);
            again = 1;
        }
        if (inf(c) || inf(d)) {
            c = box(c);
            d = box(d);
            a = unnan(a);
            b = unnan(b);
            again = 1;
        }
        if (!again && (inf(ac) || inf(bd) || inf(ad) || inf(bc))) {
            a = unnan(a);
            b = unnan(b);
            c = unnan(c);
            d = unnan(d);
            again = 1;
        }
        if (again) {
            x = __builtin_infl() * (a * c - b * d);
            y = __builtin_infl() * (a * d + b * c);
        }
    }
    return __builtin_complex(x, y);
}

/* The host's own cpowl calls __mulxc3 by that name; weak, so a compiler
 * runtime linked into the host wins. */
_Complex long double __mulxc3(long double, long double, long double, long double)
    __attribute__((weak, alias("staticdl_mulxc3")));
