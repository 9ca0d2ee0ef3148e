//! Comparing a declared signature with the one a caller asks for, and saying where
//! they differ.
//!
//! Owns [`check_signature`], [`compare_signatures`], [`SignatureMismatch`] and
//! [`Difference`]. Does not own the grammar (`parse.rs`), which a difference is
//! computed with.

use core::fmt;

use super::function::FnSignature;
use super::parse::Signature;

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

#[cfg(test)]
mod tests {
    use super::*;

    type Add = extern "C" fn(i32, i32) -> i32;

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
}
