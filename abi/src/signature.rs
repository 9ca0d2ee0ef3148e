//! Machine-checkable function signatures: the canonical strings, the traits that
//! compute them in const context, and the comparison the host runs before it turns
//! an address into a typed function pointer.
//!
//! Owns: the closed set of FFI types ([`AbiType`], [`AbiPointee`], [`AbiReturn`]),
//! [`FnSignature`] for `extern "C" fn` types of up to six arguments, the grammar
//! ([`Signature::parse`]) and mismatch reporting ([`SignatureMismatch`]).
//!
//! Does not own: where signatures are stored (the descriptor) or how a checked
//! address is kept alive (the host's `Symbol`).
//!
//! # The encoding
//!
//! A signature is ASCII text with no optional whitespace:
//!
//! ```text
//! signature := "fn(" [ type { "," type } ] ")->" ( type | "()" )
//! type      := scalar | "*const " pointee | "*mut " pointee
//! scalar    := i8 | i16 | i32 | i64 | isize | u8 | u16 | u32 | u64 | usize
//!            | f32 | f64 | bool
//! pointee   := scalar | c_void | Request | Response | Header | HostApi
//! ```
//!
//! so `extern "C" fn(i32, *const u8) -> usize` is `"fn(i32,*const u8)->usize"` and a
//! function returning nothing is `"fn()->()"`. Two signatures match exactly when the
//! strings are equal. Type aliases resolve first: `core::ffi::c_int` is `i32`, and
//! `c_char` is `i8` on x86_64 but `u8` on aarch64 — declare character pointers as
//! `*const u8` to stay portable. `extern "C" fn` and `unsafe extern "C" fn` have the
//! same signature: safety is a promise, not part of the calling convention.
//!
//! The strings are built by `const fn`s into a fixed buffer of [`SIGNATURE_MAX`]
//! bytes and exposed as `&'static str` constants, so a plugin's descriptor is a plain
//! `static` with no runtime initialisation.

use core::ffi::c_void;
use core::fmt;

use crate::handler::{Header, Request, Response};
use crate::host::HostApi;

pub(crate) mod sealed {
    /// Keeps the set of FFI types closed.
    pub trait Sealed {}
}

/// The longest signature the const encoder can build, in bytes. The longest possible
/// one (six `*const Response` arguments and a `*const Response` result) is 116.
pub const SIGNATURE_MAX: usize = 128;

/// The canonical signature of every HTTP handler export:
/// `unsafe extern "C" fn(*const Request, *mut Response) -> i32`.
///
/// ```
/// use staticdl_abi::{signature_of, HandlerFn, HANDLER_SIGNATURE};
///
/// assert_eq!(signature_of::<HandlerFn>(), HANDLER_SIGNATURE);
/// ```
pub const HANDLER_SIGNATURE: &str = "fn(*const Request,*mut Response)->i32";

/// A value type that may cross the boundary: an argument or a result.
///
/// Implemented for `i8`..`i64`, `isize`, `u8`..`u64`, `usize`, `f32`, `f64`, `bool`
/// and for `*const T` / `*mut T` where `T:` [`AbiPointee`]. The set is closed.
///
/// ```
/// use staticdl_abi::AbiType;
///
/// assert_eq!(<*mut u8 as AbiType>::NAME, "*mut u8");
/// assert_eq!(<i32 as AbiType>::PANIC_VALUE, -1);
/// ```
pub trait AbiType: Copy + sealed::Sealed {
    /// The canonical name, as it appears in a signature.
    const NAME: &'static str;
    /// What an export wrapper returns when the wrapped function panics and the
    /// export declares no value of its own: `-1` for signed integers, `MAX` for
    /// unsigned ones, NaN for floats, `false`, or a null pointer.
    const PANIC_VALUE: Self;
}

/// A type that may sit behind a `*const` / `*mut` in a signature: the scalars, plus
/// `c_void`, [`Request`], [`Response`], [`Header`] and [`HostApi`]. The set is
/// closed.
///
/// ```
/// use staticdl_abi::{AbiPointee, Request};
///
/// assert_eq!(<Request<'static> as AbiPointee>::NAME, "Request");
/// ```
pub trait AbiPointee: sealed::Sealed {
    /// The canonical name, as it appears after `*const ` / `*mut `.
    const NAME: &'static str;
}

/// A type a function may return: every [`AbiType`] and `()`.
///
/// ```
/// use staticdl_abi::AbiReturn;
///
/// assert_eq!(<() as AbiReturn>::NAME, "()");
/// ```
pub trait AbiReturn: sealed::Sealed {
    /// The canonical name, as it appears after `->`.
    const NAME: &'static str;
    /// See [`AbiType::PANIC_VALUE`]; for `()` it is `()`.
    const PANIC_VALUE: Self;
}

/// An `extern "C" fn` (or `unsafe extern "C" fn`) type of at most six [`AbiType`]
/// arguments and an [`AbiReturn`] result, with its canonical signature.
///
/// ```
/// use staticdl_abi::FnSignature;
///
/// type Add = extern "C" fn(i32, i32) -> i32;
/// assert_eq!(<Add as FnSignature>::SIGNATURE, "fn(i32,i32)->i32");
/// assert_eq!(<Add as FnSignature>::ARITY, 2);
/// ```
pub trait FnSignature: Copy + sealed::Sealed {
    /// The canonical signature (see the [module docs](self)).
    const SIGNATURE: &'static str;
    /// The number of arguments.
    const ARITY: usize;

    /// Turns an address into this function pointer type.
    ///
    /// # Safety
    /// `addr` must be the address of a function with exactly this signature and the
    /// C calling convention, and it must stay mapped for as long as the result is
    /// called. A matching [`FnSignature::SIGNATURE`] is evidence, not proof: it is
    /// only as true as the descriptor that declared it.
    unsafe fn from_addr(addr: *const c_void) -> Self;

    /// The address of this function.
    fn to_addr(self) -> *const c_void;
}

/// The canonical signature of `F`.
///
/// ```
/// use staticdl_abi::signature_of;
///
/// assert_eq!(signature_of::<extern "C" fn(*const u8, usize)>(), "fn(*const u8,usize)->()");
/// ```
pub const fn signature_of<F: FnSignature>() -> &'static str {
    F::SIGNATURE
}

/// Checks a declared signature against the one the host asks for.
///
/// ```
/// use staticdl_abi::check_signature;
///
/// assert!(check_signature::<extern "C" fn(i32) -> i32>("fn(i32)->i32").is_ok());
/// let err = check_signature::<extern "C" fn(i64) -> i32>("fn(i32)->i32").unwrap_err();
/// assert_eq!(err.expected, "fn(i64)->i32");
/// assert_eq!(err.found, "fn(i32)->i32");
/// ```
pub fn check_signature<F: FnSignature>(declared: &str) -> Result<(), SignatureMismatch<'_>> {
    compare_signatures(F::SIGNATURE, declared)
}

/// Compares two signature strings: `expected` (what the caller wants) and `found`
/// (what was declared).
///
/// ```
/// use staticdl_abi::{compare_signatures, Difference};
///
/// let err = compare_signatures("fn(i32)->i32", "fn(i32)->u32").unwrap_err();
/// assert_eq!(err.difference(), Difference::Return { expected: "i32", found: "u32" });
/// ```
pub fn compare_signatures<'a>(
    expected: &'a str,
    found: &'a str,
) -> Result<(), SignatureMismatch<'a>> {
    if expected == found {
        Ok(())
    } else {
        Err(SignatureMismatch { expected, found })
    }
}

/// A declared signature that is not the one asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignatureMismatch<'a> {
    /// The signature the caller asked for.
    pub expected: &'a str,
    /// The signature the plugin declared.
    pub found: &'a str,
}

/// The first place where two signatures differ, as found by
/// [`SignatureMismatch::difference`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Difference<'a> {
    /// Different numbers of arguments.
    Arity {
        /// Arguments asked for.
        expected: usize,
        /// Arguments declared.
        found: usize,
    },
    /// An argument of another type.
    Argument {
        /// Zero-based position of the argument.
        index: usize,
        /// Type asked for.
        expected: &'a str,
        /// Type declared.
        found: &'a str,
    },
    /// A different result type.
    Return {
        /// Type asked for.
        expected: &'a str,
        /// Type declared.
        found: &'a str,
    },
    /// One of the two is not a well-formed signature.
    Malformed,
}

impl<'a> SignatureMismatch<'a> {
    /// Where the two signatures first differ.
    ///
    /// ```
    /// use staticdl_abi::{compare_signatures, Difference};
    ///
    /// let err = compare_signatures("fn(i64)->i32", "fn(i32)->i32").unwrap_err();
    /// assert_eq!(
    ///     err.difference(),
    ///     Difference::Argument { index: 0, expected: "i64", found: "i32" }
    /// );
    /// ```
    pub fn difference(&self) -> Difference<'a> {
        let (Ok(expected), Ok(found)) = (
            Signature::parse(self.expected),
            Signature::parse(self.found),
        ) else {
            return Difference::Malformed;
        };
        if expected.arity() != found.arity() {
            return Difference::Arity {
                expected: expected.arity(),
                found: found.arity(),
            };
        }
        for (index, (e, f)) in expected.args().zip(found.args()).enumerate() {
            if e != f {
                return Difference::Argument {
                    index,
                    expected: e,
                    found: f,
                };
            }
        }
        Difference::Return {
            expected: expected.ret(),
            found: found.ret(),
        }
    }
}

impl fmt::Display for SignatureMismatch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "signature mismatch: expected `{}`, found `{}`",
            self.expected, self.found
        )?;
        match self.difference() {
            Difference::Arity { expected, found } => {
                write!(f, " (takes {found} arguments, expected {expected})")
            }
            Difference::Argument {
                index,
                expected,
                found,
            } => {
                write!(
                    f,
                    " (argument {} is `{found}`, expected `{expected}`)",
                    index + 1
                )
            }
            Difference::Return { expected, found } => {
                write!(f, " (returns `{found}`, expected `{expected}`)")
            }
            Difference::Malformed => Ok(()),
        }
    }
}

impl core::error::Error for SignatureMismatch<'_> {}

/// A parsed, well-formed signature string.
///
/// ```
/// use staticdl_abi::Signature;
///
/// let sig = Signature::parse("fn(i32,*const u8)->()").unwrap();
/// assert_eq!(sig.args().collect::<Vec<_>>(), ["i32", "*const u8"]);
/// assert_eq!(sig.ret(), "()");
/// assert!(Signature::parse("fn(int)->int").is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature<'a> {
    text: &'a str,
    args: &'a str,
    ret: &'a str,
}

impl<'a> Signature<'a> {
    /// Parses and checks `text` against the grammar in the [module docs](self).
    pub fn parse(text: &'a str) -> Result<Self, SignatureError<'a>> {
        let fail = |problem| SignatureError {
            signature: text,
            problem,
        };
        let rest = text
            .strip_prefix("fn(")
            .ok_or(fail(SignatureProblem::Syntax("does not start with `fn(`")))?;
        let (args, ret) = rest
            .split_once(")->")
            .ok_or(fail(SignatureProblem::Syntax("has no `)->`")))?;
        let sig = Self { text, args, ret };
        if let Some(bad) = sig.args().find(|a| !is_value_type(a)) {
            return Err(fail(SignatureProblem::UnknownType(bad)));
        }
        if ret != "()" && !is_value_type(ret) {
            return Err(fail(SignatureProblem::UnknownType(ret)));
        }
        Ok(sig)
    }

    /// The whole signature text.
    pub fn as_str(&self) -> &'a str {
        self.text
    }

    /// The argument types, in order.
    pub fn args(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        let args = self.args;
        args.split(',').filter(move |_| !args.is_empty())
    }

    /// The number of arguments.
    pub fn arity(&self) -> usize {
        self.args().count()
    }

    /// The result type (`"()"` for none).
    pub fn ret(&self) -> &'a str {
        self.ret
    }
}

/// A string that is not a well-formed signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignatureError<'a> {
    /// The offending text.
    pub signature: &'a str,
    /// What is wrong with it.
    pub problem: SignatureProblem<'a>,
}

/// What is wrong with a [`SignatureError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureProblem<'a> {
    /// The text does not follow the grammar.
    Syntax(&'static str),
    /// A type outside the closed set (or misspelled, or with extra spaces).
    UnknownType(&'a str),
}

impl fmt::Display for SignatureError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problem {
            SignatureProblem::Syntax(what) => {
                write!(f, "malformed signature `{}`: {what}", self.signature)
            }
            SignatureProblem::UnknownType(ty) => {
                write!(
                    f,
                    "malformed signature `{}`: unknown type `{ty}`",
                    self.signature
                )
            }
        }
    }
}

impl core::error::Error for SignatureError<'_> {}

const SCALARS: [&str; 13] = [
    "i8", "i16", "i32", "i64", "isize", "u8", "u16", "u32", "u64", "usize", "f32", "f64", "bool",
];
const OPAQUE_POINTEES: [&str; 5] = ["c_void", "Request", "Response", "Header", "HostApi"];

fn is_value_type(ty: &str) -> bool {
    if SCALARS.contains(&ty) {
        return true;
    }
    ty.strip_prefix("*const ")
        .or_else(|| ty.strip_prefix("*mut "))
        .is_some_and(|p| SCALARS.contains(&p) || OPAQUE_POINTEES.contains(&p))
}

/// A signature under construction in const context.
struct SigBuf {
    bytes: [u8; SIGNATURE_MAX],
    len: usize,
}

impl SigBuf {
    const fn new() -> Self {
        Self {
            bytes: [0; SIGNATURE_MAX],
            len: 0,
        }
    }

    const fn push(mut self, s: &str) -> Self {
        let s = s.as_bytes();
        assert!(
            self.len + s.len() <= SIGNATURE_MAX,
            "signature longer than SIGNATURE_MAX"
        );
        let mut i = 0;
        while i < s.len() {
            self.bytes[self.len] = s[i];
            self.len += 1;
            i += 1;
        }
        self
    }

    const fn function(args: &[&str], ret: &str) -> Self {
        let mut buf = Self::new().push("fn(");
        let mut i = 0;
        while i < args.len() {
            if i > 0 {
                buf = buf.push(",");
            }
            buf = buf.push(args[i]);
            i += 1;
        }
        buf.push(")->").push(ret)
    }

    const fn as_str(&self) -> &str {
        match core::str::from_utf8(self.bytes.split_at(self.len).0) {
            Ok(s) => s,
            Err(_) => panic!("signature is not UTF-8"),
        }
    }
}

macro_rules! scalars {
    ($($ty:ty => $name:literal, $panic:expr;)*) => {$(
        impl sealed::Sealed for $ty {}
        impl AbiType for $ty {
            const NAME: &'static str = $name;
            const PANIC_VALUE: Self = $panic;
        }
        impl AbiPointee for $ty {
            const NAME: &'static str = $name;
        }
    )*};
}

scalars! {
    i8 => "i8", -1;
    i16 => "i16", -1;
    i32 => "i32", -1;
    i64 => "i64", -1;
    isize => "isize", -1;
    u8 => "u8", u8::MAX;
    u16 => "u16", u16::MAX;
    u32 => "u32", u32::MAX;
    u64 => "u64", u64::MAX;
    usize => "usize", usize::MAX;
    f32 => "f32", f32::NAN;
    f64 => "f64", f64::NAN;
    bool => "bool", false;
}

macro_rules! opaque_pointees {
    ($($ty:ty => $name:literal;)*) => {$(
        impl sealed::Sealed for $ty {}
        impl AbiPointee for $ty {
            const NAME: &'static str = $name;
        }
    )*};
}

opaque_pointees! {
    c_void => "c_void";
    Request<'_> => "Request";
    Response => "Response";
    Header<'_> => "Header";
    HostApi => "HostApi";
}

impl<T: AbiPointee> sealed::Sealed for *const T {}
impl<T: AbiPointee> AbiType for *const T {
    const NAME: &'static str = SigBuf::new().push("*const ").push(T::NAME).as_str();
    const PANIC_VALUE: Self = core::ptr::null();
}

impl<T: AbiPointee> sealed::Sealed for *mut T {}
impl<T: AbiPointee> AbiType for *mut T {
    const NAME: &'static str = SigBuf::new().push("*mut ").push(T::NAME).as_str();
    const PANIC_VALUE: Self = core::ptr::null_mut();
}

impl<T: AbiType> AbiReturn for T {
    const NAME: &'static str = <T as AbiType>::NAME;
    const PANIC_VALUE: Self = <T as AbiType>::PANIC_VALUE;
}

impl sealed::Sealed for () {}
impl AbiReturn for () {
    const NAME: &'static str = "()";
    const PANIC_VALUE: Self = ();
}

macro_rules! fn_signatures {
    ($(($($arg:ident),*))*) => {$(
        fn_signatures!(@one [extern "C" fn] $($arg),*);
        fn_signatures!(@one [unsafe extern "C" fn] $($arg),*);
    )*};
    (@one [$($kind:tt)*] $($arg:ident),*) => {
        impl<R: AbiReturn, $($arg: AbiType),*> sealed::Sealed for $($kind)*($($arg),*) -> R {}
        impl<R: AbiReturn, $($arg: AbiType),*> FnSignature for $($kind)*($($arg),*) -> R {
            const SIGNATURE: &'static str =
                SigBuf::function(&[$(<$arg as AbiType>::NAME),*], R::NAME).as_str();
            const ARITY: usize = <[&str]>::len(&[$(<$arg as AbiType>::NAME),*]);

            unsafe fn from_addr(addr: *const c_void) -> Self {
                // SAFETY: function pointers and data pointers have the same size and
                // representation on every target staticdl supports; the caller vouches
                // that `addr` is a function of this exact type.
                unsafe { core::mem::transmute::<*const c_void, Self>(addr) }
            }

            fn to_addr(self) -> *const c_void {
                self as *const c_void
            }
        }
    };
}

fn_signatures! {
    ()
    (A)
    (A, B)
    (A, B, C)
    (A, B, C, D)
    (A, B, C, D, E)
    (A, B, C, D, E, G)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HandlerFn;

    type Add = extern "C" fn(i32, i32) -> i32;

    #[test]
    fn encodes_scalars_pointers_and_unit() {
        assert_eq!(signature_of::<Add>(), "fn(i32,i32)->i32");
        assert_eq!(signature_of::<extern "C" fn()>(), "fn()->()");
        assert_eq!(
            signature_of::<extern "C" fn(*const u8, usize, *mut c_void) -> bool>(),
            "fn(*const u8,usize,*mut c_void)->bool"
        );
        assert_eq!(
            signature_of::<unsafe extern "C" fn(f32, f64, i8, u16, isize, u64) -> *const HostApi>(),
            "fn(f32,f64,i8,u16,isize,u64)->*const HostApi"
        );
        assert_eq!(signature_of::<HandlerFn>(), HANDLER_SIGNATURE);
        assert_eq!(<Add as FnSignature>::ARITY, 2);
        assert_eq!(<extern "C" fn() as FnSignature>::ARITY, 0);
    }

    #[test]
    fn safe_and_unsafe_functions_share_a_signature() {
        assert_eq!(
            signature_of::<unsafe extern "C" fn(i32, i32) -> i32>(),
            signature_of::<Add>()
        );
    }

    #[test]
    fn usable_in_statics() {
        static SIG: &str = <extern "C" fn(u64) -> u8 as FnSignature>::SIGNATURE;
        assert_eq!(SIG, "fn(u64)->u8");
    }

    #[test]
    fn longest_signature_fits() {
        type Longest = extern "C" fn(
            *const Response,
            *const Response,
            *const Response,
            *const Response,
            *const Response,
            *const Response,
        ) -> *const Response;
        let sig = signature_of::<Longest>();
        assert_eq!(sig.len(), 116);
        assert!(sig.len() <= SIGNATURE_MAX);
        assert!(Signature::parse(sig).is_ok());
    }

    #[test]
    fn every_type_name_parses() {
        fn check<F: FnSignature>() {
            Signature::parse(F::SIGNATURE).unwrap_or_else(|e| panic!("{e}"));
        }
        check::<extern "C" fn(i8, i16, i32, i64, isize) -> u8>();
        check::<extern "C" fn(u8, u16, u32, u64, usize) -> f32>();
        check::<extern "C" fn(f32, f64, bool) -> f64>();
        check::<extern "C" fn(*const i8, *mut i16, *const i32, *mut i64, *const isize) -> *mut u8>(
        );
        check::<extern "C" fn(*const u16, *mut u32, *const u64, *mut usize, *const f32) -> *mut f64>(
        );
        check::<
            extern "C" fn(*const bool, *mut c_void, *const Request<'static>, *mut Response) -> (),
        >();
        check::<extern "C" fn(*const Header<'static>, *mut HostApi)>();
    }

    #[test]
    fn same_signature_matches() {
        assert_eq!(check_signature::<Add>("fn(i32,i32)->i32"), Ok(()));
    }

    #[test]
    fn argument_type_mismatch_is_reported() {
        let err = check_signature::<extern "C" fn(i64) -> i32>("fn(i32)->i32").unwrap_err();
        assert_eq!(err.expected, "fn(i64)->i32");
        assert_eq!(err.found, "fn(i32)->i32");
        assert_eq!(
            err.difference(),
            Difference::Argument {
                index: 0,
                expected: "i64",
                found: "i32"
            }
        );
        assert_eq!(
            std::format!("{err}"),
            "signature mismatch: expected `fn(i64)->i32`, found `fn(i32)->i32` \
             (argument 1 is `i32`, expected `i64`)"
        );
    }

    #[test]
    fn arity_and_return_mismatches_are_reported() {
        let err = check_signature::<Add>("fn(i32)->i32").unwrap_err();
        assert_eq!(
            err.difference(),
            Difference::Arity {
                expected: 2,
                found: 1
            }
        );
        let err = check_signature::<extern "C" fn()>("fn()->i32").unwrap_err();
        assert_eq!(
            err.difference(),
            Difference::Return {
                expected: "()",
                found: "i32"
            }
        );
        let err = check_signature::<extern "C" fn(*const u8)>("fn(*mut u8)->()").unwrap_err();
        assert_eq!(
            err.difference(),
            Difference::Argument {
                index: 0,
                expected: "*const u8",
                found: "*mut u8"
            }
        );
        let err = check_signature::<Add>("fn(int,int)->int").unwrap_err();
        assert_eq!(err.difference(), Difference::Malformed);
    }

    #[test]
    fn malformed_signatures_are_rejected() {
        for bad in [
            "",
            "fn(i32)",
            "fn(i32) -> i32",
            "fn(i32, i32)->i32",
            "fn(i32,)->i32",
            "fn(,)->()",
            "fn(*const String)->()",
            "fn(*const *const u8)->()",
            "fn(())->()",
            "fn()->",
            "extern fn()->()",
        ] {
            assert!(Signature::parse(bad).is_err(), "{bad:?} parsed");
        }
        let err = Signature::parse("fn(i32,char)->()").unwrap_err();
        assert_eq!(err.problem, SignatureProblem::UnknownType("char"));
        assert_eq!(
            std::format!("{err}"),
            "malformed signature `fn(i32,char)->()`: unknown type `char`"
        );
    }

    #[test]
    fn from_addr_round_trips() {
        extern "C" fn add(a: i32, b: i32) -> i32 {
            a + b
        }
        let addr = (add as Add).to_addr();
        // SAFETY: `addr` is `add`, whose type is exactly `Add`.
        let f = unsafe { <Add as FnSignature>::from_addr(addr) };
        assert_eq!(f(2, 3), 5);
    }

    #[test]
    fn panic_values() {
        assert_eq!(<u32 as AbiType>::PANIC_VALUE, u32::MAX);
        assert!(<f64 as AbiType>::PANIC_VALUE.is_nan());
        assert!(<*mut c_void as AbiType>::PANIC_VALUE.is_null());
    }
}
