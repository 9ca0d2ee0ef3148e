//! The signature grammar: [`Signature::parse`] and what is wrong with a string that
//! does not follow it.
//!
//! Owns [`Signature`], [`SignatureError`], [`SignatureProblem`] and the list of type
//! names the grammar accepts. Does not own how those names are computed from Rust
//! types (`types.rs`, `function.rs`) or comparing two signatures (`compare.rs`).

use core::fmt;

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
    /// Parses and checks `text` against the grammar in the
    /// [module docs](crate::signature).
    ///
    /// ```
    /// use staticdl_abi::{Signature, SignatureProblem};
    ///
    /// let err = Signature::parse("fn(i32,char)->()").unwrap_err();
    /// assert_eq!(err.problem, SignatureProblem::UnknownType("char"));
    /// ```
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
/// Every opaque pointee the grammar names, the handler contract's included (a host
/// without the `http` feature still reads such declarations).
const OPAQUE_POINTEES: [&str; 5] = ["c_void", "Request", "Response", "Header", "HostApi"];

fn is_value_type(ty: &str) -> bool {
    if SCALARS.contains(&ty) {
        return true;
    }
    ty.strip_prefix("*const ")
        .or_else(|| ty.strip_prefix("*mut "))
        .is_some_and(|p| SCALARS.contains(&p) || OPAQUE_POINTEES.contains(&p))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn handler_contract_names_parse_without_the_feature() {
        let sig = Signature::parse(crate::signature::HANDLER_SIGNATURE).unwrap();
        assert_eq!(sig.arity(), 2);
        assert!(Signature::parse("fn(*const Header)->()").is_ok());
    }
}
