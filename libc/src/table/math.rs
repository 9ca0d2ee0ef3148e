//! Table families of `libm.so.6` and `libgcc_s.so.1`: the host's libm (real and
//! complex), the compiler's integer and floating-point builtins, and the unwinder.
//!
//! Owns only which host symbol answers each name; `mod.rs` owns the lookup and the
//! version policy.

use super::{Entry, Target};

/// Libm.
pub(super) static LIBM: &[Entry] = functions! {
    acos, acosf, acosh, acoshf, asin, asinf, asinh, asinhf, atan, atanf, atan2, atan2f,
    atanh, atanhf, cbrt, cbrtf, ceil, ceilf, copysign, copysignf, cos, cosf, cosh,
    coshf, erf, erff, erfc, erfcf, exp, expf, exp2, exp2f, expm1, expm1f, fabs, fabsf,
    fdim, fdimf, floor, floorf, fma, fmaf, fmax, fmaxf, fmin, fminf, fmod, fmodf, frexp,
    frexpf, hypot, hypotf, ilogb, ilogbf, ldexp, ldexpf, lgamma, lgammaf, lgamma_r,
    lgammaf_r, llrint, llrintf, llround, llroundf, log, logf, log10, log10f, log1p,
    log1pf, log2, log2f, logb, logbf, lrint, lrintf, lround, lroundf, modf, modff, nan,
    nanf, nearbyint, nearbyintf, nextafter, nextafterf, nexttoward, nexttowardf, pow,
    powf, remainder, remainderf, remquo, remquof, rint, rintf, round, roundf, scalbln,
    scalblnf, scalbn, scalbnf, sin, sinf, sincos, sincosf, sinh, sinhf, sqrt, sqrtf,
    tan, tanf, tanh, tanhf, tgamma, tgammaf, trunc, truncf, j0, j1, jn, y0, y1, yn,
    exp10, exp10f, fabsl, sqrtl, floorl, ceill, fmodl, frexpl, ldexpl, expl, logl, powl,
    sinl, cosl, fegetround, fesetround, feclearexcept, feraiseexcept, fetestexcept,
    fegetenv, fesetenv, feholdexcept, feupdateenv, fegetexceptflag, fesetexceptflag,
    __fpclassify, __fpclassifyf, __signbit, __signbitf, __fpclassifyl, __signbitl, acosl,
    acoshl, asinl, asinhl, atanl, atan2l, atanhl, cbrtl, copysignl, coshl, erfl, erfcl,
    exp10l, exp2l, expm1l, fdiml, fmal, fmaxl, fminl, hypotl, ilogbl, lgammal,
    lgammal_r, llrintl, llroundl, log10l, log1pl, log2l, logbl, lrintl, lroundl, modfl,
    nanl, nearbyintl, nextafterl, nexttowardl, remainderl, remquol, rintl, roundl,
    scalblnl, scalbnl, sincosl, sinhl, tanl, tanhl, tgammal, truncl, j0f, j1f, jnf, y0f,
    y1f, ynf, drem, dremf, finite, finitef, significand, significandf, scalb, scalbf,
    cabs, cabsf, cabsl, cacos, cacosf, cacosl, cacosh, cacoshf, cacoshl, carg, cargf,
    cargl, casin, casinf, casinl, casinh, casinhf, casinhl, catan, catanf, catanl, catanh,
    catanhf, catanhl, ccos, ccosf, ccosl, ccosh, ccoshf, ccoshl, cexp, cexpf, cexpl,
    cimag, cimagf, cimagl, clog, clogf, clogl, conj, conjf, conjl, cpow, cpowf, cpowl,
    cproj, cprojf, cprojl, creal, crealf, creall, csin, csinf, csinl, csinh, csinhf,
    csinhl, csqrt, csqrtf, csqrtl, ctan, ctanf, ctanl, ctanh, ctanhf, ctanhl,
    // glibc's gamma is lgamma (the logarithm, with signgam), not tgamma.
    gamma => lgamma,
    gammaf => lgammaf,
    gammal => lgammal,
};

/// Libm: variables.
pub(super) static LIBM_DATA: &[Entry] = variables! {
    signgam,
    __signgam => signgam,
};

/// `libgcc_s.so.1`'s integer and floating-point helpers: the host's compiler
/// builtins (Rust's compiler-builtins, linked into every Rust executable),
/// and the few it lacks from `c/libgcc.c`.
pub(super) static COMPILER_BUILTINS: &[Entry] = functions! {
    __absvdi2, __absvsi2, __absvti2, __addvdi3, __addvsi3, __addvti3, __mulvdi3,
    __mulvsi3, __mulvti3, __negvdi2, __negvsi2, __negvti2, __subvdi3, __subvsi3,
    __subvti3, __ashlti3, __ashrti3, __lshrti3, __multi3, __divti3, __modti3, __udivti3,
    __umodti3, __udivmodti4, __divmodti4, __negti2, __cmpti2, __ucmpti2, __bswapdi2,
    __bswapsi2, __clzdi2, __clzti2, __ctzdi2, __ctzti2, __ffsti2, __paritydi2,
    __parityti2, __popcountdi2, __popcountti2, __muldc3, __mulsc3, __divdc3, __divsc3,
    __powidf2, __powisf2, __powitf2, __addtf3, __subtf3, __multf3, __divtf3, __eqtf2,
    __netf2, __getf2, __gttf2, __letf2, __lttf2, __unordtf2, __extenddftf2,
    __extendsftf2, __extendsfdf2, __extendhfsf2, __extendhfdf2, __extendhftf2,
    __truncdfsf2, __trunctfdf2, __trunctfsf2, __truncdfhf2, __truncsfhf2, __trunctfhf2,
    __eqhf2, __nehf2, __fixdfti, __fixsfti, __fixtfdi, __fixtfsi, __fixtfti, __fixunsdfdi,
    __fixunsdfti, __fixunssfdi, __fixunssfti, __fixunstfdi, __fixunstfsi, __fixunstfti,
    __floatditf, __floatsitf, __floattidf, __floattisf, __floattitf, __floatunditf,
    __floatunsitf, __floatuntidf, __floatuntisf, __floatuntitf,
    __ffsdi2 => staticdl_ffsdi2,
    __clrsbdi2 => staticdl_clrsbdi2,
    __clrsbti2 => staticdl_clrsbti2,
    __clear_cache => staticdl_clear_cache,
    __enable_execute_stack => staticdl_enable_execute_stack,
    __negtf2 => staticdl_negtf2,
    __powixf2 => staticdl_powixf2,
    __mulxc3 => staticdl_mulxc3,
};

/// The unwinder (libgcc_s.so.1's interface, from the host's unwinder).
pub(super) static UNWINDER: &[Entry] = functions! {
    _Unwind_Backtrace, _Unwind_DeleteException, _Unwind_FindEnclosingFunction,
    _Unwind_Find_FDE, _Unwind_ForcedUnwind, _Unwind_GetCFA, _Unwind_GetDataRelBase,
    _Unwind_GetGR, _Unwind_GetIP, _Unwind_GetIPInfo, _Unwind_GetLanguageSpecificData,
    _Unwind_GetRegionStart, _Unwind_GetTextRelBase, _Unwind_RaiseException,
    _Unwind_Resume, _Unwind_Resume_or_Rethrow, _Unwind_SetGR, _Unwind_SetIP,
    __register_frame, __deregister_frame,
};
