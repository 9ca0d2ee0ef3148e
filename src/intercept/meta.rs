//! What a trapped call stands for: the symbol, its version, the object, and
//! whether it is an import or an export.
//!
//! Owns [`Meta`] (built once per site, shared by the states it publishes) and
//! [`TrapKind`]. Plain data: it knows nothing of frames or hooks.

use std::ffi::CString;
use std::path::PathBuf;

/// Which side of a binding a trap is on.
///
/// ```
/// use staticdl::intercept::TrapKind;
/// assert_ne!(TrapKind::Import, TrapKind::Export);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrapKind {
    /// A binding of an object's import (its PLT slot, GOT entry or pointer):
    /// [`Call::object`](super::Call::object) is the object that makes the call.
    Import,
    /// An object's export, as the facade, `dlsym` and later bindings hand it
    /// out: [`Call::object`](super::Call::object) is the object that defines it.
    Export,
}

/// What one site stands for.
#[derive(Debug)]
pub(crate) struct Meta {
    pub kind: TrapKind,
    /// The symbol, as a C string (for C hooks) and as text.
    pub symbol_c: CString,
    pub symbol: String,
    /// The version the importer asks for (imports) or none.
    pub version_c: Option<CString>,
    pub version: Option<String>,
    /// The importing object (imports) or the exporting one (exports).
    pub object: PathBuf,
    pub object_c: CString,
}

impl Meta {
    pub fn new(kind: TrapKind, symbol: &[u8], version: Option<&[u8]>, object: PathBuf) -> Meta {
        let c = |b: &[u8]| {
            let cut = b.iter().position(|&x| x == 0).unwrap_or(b.len());
            CString::new(&b[..cut]).unwrap_or_default()
        };
        let object_c = c(object.as_os_str().as_encoded_bytes());
        Meta {
            kind,
            symbol_c: c(symbol),
            symbol: String::from_utf8_lossy(symbol).into_owned(),
            version_c: version.map(c),
            version: version.map(|v| String::from_utf8_lossy(v).into_owned()),
            object,
            object_c,
        }
    }
}
