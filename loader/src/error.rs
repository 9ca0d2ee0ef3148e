//! The loader's error type.
//!
//! Owns [`Error`], what every stage of a load reports: the path of the object it is
//! about, stored once, and an [`ErrorKind`] saying what went wrong, so a message
//! can be read without context and a caller that already names the object can
//! print the kind alone. It does not own the facade's "previous failure" wrapping;
//! that lives in the `staticdl` crate.

use std::io;
use std::path::{Path, PathBuf};

/// A `Result` whose error is the loader's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A symbol that could not be resolved, with the version it asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingSymbol {
    /// The symbol's name.
    pub name: String,
    /// The version the importing object asked for (`GLIBC_2.14`), if any.
    pub version: Option<String>,
}

impl std::fmt::Display for MissingSymbol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.version {
            Some(v) => write!(f, "{}@{}", self.name, v),
            None => f.write_str(&self.name),
        }
    }
}

fn join_missing(list: &[MissingSymbol]) -> String {
    let mut out = String::new();
    for (i, m) in list.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&m.to_string());
    }
    out
}

fn join_paths(list: &[PathBuf]) -> String {
    if list.is_empty() {
        return "nothing".to_string();
    }
    let mut out = String::new();
    for (i, p) in list.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&p.display().to_string());
    }
    out
}

/// Everything that can go wrong while loading, relocating or initialising an object:
/// the path of the object concerned, stored once, and what went wrong with it.
///
/// Nothing in the loader panics on bad input: a malformed, truncated or hostile
/// file produces one of these, and nothing of the failed load stays mapped. It
/// displays as `PATH: KIND`; [`Error::kind`] alone is the message without the path.
///
/// ```
/// use staticdl_loader::{Error, ErrorKind};
/// let e = Error::new("/tmp/x.so", ErrorKind::NotElf);
/// assert_eq!(e.to_string(), "/tmp/x.so: not an ELF file");
/// assert_eq!(e.kind().to_string(), "not an ELF file");
/// assert!(matches!(e.kind(), ErrorKind::NotElf));
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{}: {kind}", path.display())]
pub struct Error {
    path: PathBuf,
    #[source]
    kind: ErrorKind,
}

impl Error {
    /// An error about the object at `path`.
    ///
    /// ```
    /// # use staticdl_loader::{Error, ErrorKind};
    /// let e = Error::new("/tmp/x.so", ErrorKind::ExecutableStack);
    /// assert_eq!(e.path(), std::path::Path::new("/tmp/x.so"));
    /// ```
    pub fn new(path: impl Into<PathBuf>, kind: ErrorKind) -> Self {
        Error {
            path: path.into(),
            kind,
        }
    }

    /// The path of the object this error is about (for
    /// [`ErrorKind::LibraryNotFound`], the object that needs the library).
    ///
    /// ```
    /// # use staticdl_loader::{Error, ErrorKind};
    /// let e = Error::new("/tmp/x.so", ErrorKind::NotElf);
    /// assert_eq!(e.path(), std::path::Path::new("/tmp/x.so"));
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What went wrong.
    ///
    /// ```
    /// # use staticdl_loader::{Error, ErrorKind};
    /// let e = Error::new("/tmp/x.so", ErrorKind::NotElf);
    /// assert!(matches!(e.kind(), ErrorKind::NotElf));
    /// ```
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The parts: path and kind.
    ///
    /// ```
    /// # use staticdl_loader::{Error, ErrorKind};
    /// let (path, kind) = Error::new("/tmp/x.so", ErrorKind::NotElf).into_parts();
    /// assert_eq!(path, std::path::PathBuf::from("/tmp/x.so"));
    /// assert!(matches!(kind, ErrorKind::NotElf));
    /// ```
    pub fn into_parts(self) -> (PathBuf, ErrorKind) {
        (self.path, self.kind)
    }

    pub(crate) fn malformed(path: &Path, what: impl Into<String>, offset: u64) -> Self {
        Error::new(
            path,
            ErrorKind::Malformed {
                what: what.into(),
                offset,
            },
        )
    }
}

/// What went wrong with an object; see [`Error`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file could not be opened, read or inspected.
    #[error("{0}")]
    Io(#[source] io::Error),
    /// The path names something other than a regular file (a directory, a FIFO,
    /// a device): there is nothing to map.
    #[error("not a regular file: {what}")]
    NotRegularFile {
        /// What it is instead (`a directory`, `a FIFO`, ...).
        what: &'static str,
    },
    /// The file does not start with the ELF magic bytes.
    #[error("not an ELF file")]
    NotElf,
    /// The file is ELF, but for another class, byte order or machine.
    #[error(
        "wrong architecture: found {found}, expected ELF64 little-endian {}",
        crate::arch::NATIVE_NAME
    )]
    WrongArch {
        /// What the file declares, for example `ELF32` or `machine AArch64 (183)`.
        found: String,
    },
    /// The file is an ELF object, but not a shared object: another `e_type`, or a
    /// position-independent executable (`DF_1_PIE`).
    #[error("not a shared object: {found}")]
    NotSharedObject {
        /// What was found, spelled as the ELF spec does (`ELF type is ET_EXEC`).
        found: String,
    },
    /// A header, table, index, offset or size is inconsistent or out of bounds.
    #[error("malformed ELF: {what} (at {offset:#x})")]
    Malformed {
        /// What was wrong.
        what: String,
        /// The file offset or virtual address concerned.
        offset: u64,
    },
    /// A limit protecting the host from hostile input was exceeded.
    #[error("{what} is {value}, over the limit of {limit}")]
    LimitExceeded {
        /// What was counted.
        what: &'static str,
        /// The value found.
        value: u64,
        /// The configured limit.
        limit: u64,
    },
    /// The object asks for an executable stack (`PT_GNU_STACK` with `PF_X`, or no
    /// `PT_GNU_STACK` at all) and the caller did not allow it.
    #[error("object requires an executable stack (allow it explicitly to load it)")]
    ExecutableStack,
    /// The object's thread-local storage cannot be set up as it asks.
    #[error("thread-local storage: {what}")]
    TlsUnsupported {
        /// What asks for it, and why it cannot be honoured.
        what: String,
    },
    /// The static TLS surplus has no room for an initial-exec TLS block.
    #[error("static TLS surplus exhausted: a block of {needed} bytes (alignment {align}) does not fit; {available} of {total} bytes are free (build the host with a larger STATICDL_STATIC_TLS_SIZE)")]
    StaticTlsExhausted {
        /// The block's size (`p_memsz` of the object's `PT_TLS`).
        needed: u64,
        /// Its alignment.
        align: u64,
        /// The largest free range.
        available: u64,
        /// The surplus's usable size.
        total: u64,
    },
    /// A segment is both writable and executable, or the object needs text
    /// relocations (`DT_TEXTREL`); both would need writable code.
    #[error("refusing writable code: {what}")]
    WritableCode {
        /// Which of the two cases, and where.
        what: String,
    },
    /// A relocation type this loader does not handle, or refuses (`R_X86_64_COPY`).
    #[error("unsupported relocation {kind} against {}", symbol.as_deref().unwrap_or("no symbol"))]
    UnsupportedRelocation {
        /// The type, spelled as the psABI does where known (`R_X86_64_COPY`), else its number.
        kind: String,
        /// The symbol the relocation refers to, if any.
        symbol: Option<String>,
    },
    /// A relocation's value does not fit its field (a 32-bit PC-relative reference
    /// to something more than 2 GiB away).
    #[error("relocation {kind} against {symbol} overflows")]
    RelocationOverflow {
        /// The relocation type.
        kind: String,
        /// The symbol.
        symbol: String,
    },
    /// One or more imports could not be resolved anywhere in scope. All of them are
    /// listed, not only the first.
    #[error("undefined symbol{} {}", if symbols.len() == 1 { "" } else { "s" }, join_missing(symbols))]
    UnresolvedSymbols {
        /// Every symbol that could not be resolved.
        symbols: Vec<MissingSymbol>,
    },
    /// A `DT_NEEDED` library was found nowhere (the error's path is the object
    /// that needs it).
    #[error("needed library {name} not found (searched {})", join_paths(searched))]
    LibraryNotFound {
        /// The `DT_NEEDED` name.
        name: String,
        /// Every path tried, in order.
        searched: Vec<PathBuf>,
    },
    /// A memory mapping or protection change failed.
    #[error("{op} failed: {source}")]
    Map {
        /// The operation (`mmap`, `mprotect`).
        op: &'static str,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}
