//! The closed set of types a signature may name, and their canonical names.
//!
//! Owns [`AbiType`] (arguments and results), [`AbiPointee`] (what may sit behind a
//! pointer), [`AbiReturn`] (results, with `()`), their implementations for the
//! scalars, the raw pointers and the opaque contract types, and the seal that keeps
//! the set closed. Does not own function types (`function.rs`) or the text grammar
//! (`parse.rs`).

use core::ffi::c_void;

use super::buf::SigBuf;
use crate::host::HostApi;

pub(crate) mod sealed {
    /// Keeps the set of FFI types closed.
    pub trait Sealed {}
}

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
/// `c_void`, [`HostApi`] and, with the `http` feature, the handler contract's
/// `Request`, `Response` and `Header`. The set is closed.
///
/// ```
/// use staticdl_abi::{AbiPointee, HostApi};
///
/// assert_eq!(<HostApi as AbiPointee>::NAME, "HostApi");
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
    ($($(#[$cfg:meta])* $ty:ty => $name:literal;)*) => {$(
        $(#[$cfg])*
        impl sealed::Sealed for $ty {}
        $(#[$cfg])*
        impl AbiPointee for $ty {
            const NAME: &'static str = $name;
        }
    )*};
}

opaque_pointees! {
    c_void => "c_void";
    HostApi => "HostApi";
    #[cfg(feature = "http")]
    crate::handler::Request<'_> => "Request";
    #[cfg(feature = "http")]
    crate::handler::Response => "Response";
    #[cfg(feature = "http")]
    crate::handler::Header<'_> => "Header";
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_names() {
        assert_eq!(<*const u8 as AbiType>::NAME, "*const u8");
        assert_eq!(<*mut c_void as AbiType>::NAME, "*mut c_void");
        assert_eq!(<*const HostApi as AbiType>::NAME, "*const HostApi");
    }

    #[test]
    fn panic_values() {
        assert_eq!(<u32 as AbiType>::PANIC_VALUE, u32::MAX);
        assert!(<f64 as AbiType>::PANIC_VALUE.is_nan());
        assert!(<*mut c_void as AbiType>::PANIC_VALUE.is_null());
    }
}
