//! Machine-checkable function signatures: the canonical strings, the traits that
//! compute them in const context, and the comparison the host runs before it turns
//! an address into a typed function pointer.
//!
//! Owns, one file each: the closed set of FFI types ([`AbiType`], [`AbiPointee`],
//! [`AbiReturn`]; `types.rs`), the function types and their const encoding
//! ([`FnSignature`] for `extern "C" fn` types of up to six arguments; `function.rs`),
//! the grammar ([`Signature::parse`]; `parse.rs`) and the comparison with mismatch
//! reporting ([`SignatureMismatch`]; `compare.rs`), and the const string builder
//! they share (`buf.rs`).
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
//! The grammar names the handler contract's types (`Request`, `Response`,
//! `Header`) whether or not the `http` feature is on: a host without it still reads
//! and checks every declaration; only the Rust types behind those names need it.
//!
//! The strings are built by `const fn`s into a fixed buffer of [`SIGNATURE_MAX`]
//! bytes and exposed as `&'static str` constants, so a plugin's descriptor is a plain
//! `static` with no runtime initialisation.

mod buf;
mod compare;
mod function;
mod parse;
mod types;

pub use buf::SIGNATURE_MAX;
pub use compare::{check_signature, compare_signatures, Difference, SignatureMismatch};
pub use function::{signature_of, FnSignature};
pub use parse::{Signature, SignatureError, SignatureProblem};
pub use types::{AbiPointee, AbiReturn, AbiType};

/// The canonical signature of every HTTP handler export, which a route's handler
/// must declare: `unsafe extern "C" fn(*const Request, *mut Response) -> i32`.
///
/// It is part of the descriptor's rules (every route names an export with this
/// signature), so it exists without the `http` feature too; the Rust function type
/// it describes, `HandlerFn`, comes with that feature.
///
/// ```
/// use staticdl_abi::{Signature, HANDLER_SIGNATURE};
///
/// let sig = Signature::parse(HANDLER_SIGNATURE).unwrap();
/// assert_eq!(sig.args().collect::<Vec<_>>(), ["*const Request", "*mut Response"]);
/// assert_eq!(sig.ret(), "i32");
/// ```
pub const HANDLER_SIGNATURE: &str = "fn(*const Request,*mut Response)->i32";
