//! The const-context string builder behind every canonical name and signature.
//!
//! Owns `SigBuf`: a fixed buffer of [`SIGNATURE_MAX`] bytes that `const fn`s
//! append to, so that names like `*const u8` and whole signatures are `&'static str`
//! constants with no runtime work. Does not own what is written into it (`types.rs`,
//! `function.rs`).

/// The longest signature the const encoder can build, in bytes. The longest possible
/// one (six `*const Response` arguments and a `*const Response` result) is 116.
pub const SIGNATURE_MAX: usize = 128;

/// A signature under construction in const context.
pub(crate) struct SigBuf {
    bytes: [u8; SIGNATURE_MAX],
    len: usize,
}

impl SigBuf {
    pub(crate) const fn new() -> Self {
        Self {
            bytes: [0; SIGNATURE_MAX],
            len: 0,
        }
    }

    pub(crate) const fn push(mut self, s: &str) -> Self {
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

    /// `fn(` + the arguments separated by `,` + `)->` + `ret`.
    pub(crate) const fn function(args: &[&str], ret: &str) -> Self {
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

    pub(crate) const fn as_str(&self) -> &str {
        match core::str::from_utf8(self.bytes.split_at(self.len).0) {
            Ok(s) => s,
            Err(_) => panic!("signature is not UTF-8"),
        }
    }
}
