//! Function types with a signature: [`FnSignature`], for `extern "C" fn` and
//! `unsafe extern "C" fn` types of up to six [`AbiType`] arguments.
//!
//! Owns the trait, its implementations, [`signature_of`], and the one list of
//! supported arities (`__staticdl_fn_arities!`), which the host's `Symbol::call`
//! methods are generated from too, so the two can never disagree. Does not own the
//! argument types (`types.rs`) or checking a declared signature (`compare.rs`).
//!
//! Unsafe code is allowed in this module: a checked address becomes a typed function
//! pointer (`FnSignature::from_addr`).
#![allow(unsafe_code)]

use core::ffi::c_void;

use super::buf::SigBuf;
use super::types::{sealed, AbiReturn, AbiType};

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
    /// The canonical signature (see the [module docs](crate::signature)).
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

/// Calls `$callback!` once with every argument list [`FnSignature`] supports, as
/// `(Type value, ...)` pairs: `() (A a) (A a, B b) ...`. Not part of the public API;
/// it keeps the host's generated `Symbol::call` methods in step with this list.
#[doc(hidden)]
#[macro_export]
macro_rules! __staticdl_fn_arities {
    ($callback:ident) => {
        $callback! {
            ()
            (A a)
            (A a, B b)
            (A a, B b, C c)
            (A a, B b, C c, D d)
            (A a, B b, C c, D d, E e)
            (A a, B b, C c, D d, E e, G g)
        }
    };
}

macro_rules! fn_signatures {
    ($(($($arg:ident $_value:ident),*))*) => {$(
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

crate::__staticdl_fn_arities!(fn_signatures);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::HostApi;
    use crate::signature::buf::SIGNATURE_MAX;
    use crate::signature::parse::Signature;

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

    #[cfg(feature = "http")]
    #[test]
    fn longest_signature_fits() {
        use crate::handler::Response;
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
        check::<extern "C" fn(*const bool, *mut c_void, *mut HostApi) -> ()>();
        #[cfg(feature = "http")]
        {
            use crate::handler::{Header, Request, Response};
            check::<extern "C" fn(*const Request<'static>, *mut Response) -> ()>();
            check::<extern "C" fn(*const Header<'static>, *mut HostApi)>();
        }
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
}
