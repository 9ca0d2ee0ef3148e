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
    __fpclassify, __fpclassifyf, __signbit, __signbitf,
};

/// Libm: variables.
pub(super) static LIBM_DATA: &[Entry] = variables! {
    signgam,
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
