//! The loader's error type.
//!
//! Owns [`Error`], the one enum every stage of a load reports through. Each variant
//! names the object it is about, so a message can be read without context. It does
//! not own the facade's "previous failure" wrapping; that lives in the `staticdl`
//! crate.

use std::io;
use std::path::PathBuf;

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

/// Everything that can go wrong while loading, relocating or initialising an object.
///
/// Every variant carries the path of the object concerned. Nothing in the loader
/// panics on bad input: a malformed, truncated or hostile file produces one of
/// these, and nothing of the failed load stays mapped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened, read or inspected.
    #[error("{}: {source}", path.display())]
    Io {
        /// The object's path.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The file does not start with the ELF magic bytes.
    #[error("{}: not an ELF file", path.display())]
    NotElf {
        /// The object's path.
        path: PathBuf,
    },
    /// The file is ELF, but for another class, byte order or machine.
    #[error("{}: wrong architecture: found {found}, expected ELF64 little-endian x86-64", path.display())]
    WrongArch {
        /// The object's path.
        path: PathBuf,
        /// What the file declares, for example `ELF32` or `machine AArch64 (183)`.
        found: String,
    },
    /// The file is an ELF object, but not a shared object (`ET_DYN`).
    #[error("{}: not a shared object: ELF type is {found}", path.display())]
    NotSharedObject {
        /// The object's path.
        path: PathBuf,
        /// The `e_type` found, spelled as the ELF spec does (`ET_EXEC`).
        found: String,
    },
    /// A header, table, index, offset or size is inconsistent or out of bounds.
    #[error("{}: malformed ELF: {what} (at {offset:#x})", path.display())]
    Malformed {
        /// The object's path.
        path: PathBuf,
        /// What was wrong.
        what: String,
        /// The file offset or virtual address concerned.
        offset: u64,
    },
    /// A limit protecting the host from hostile input was exceeded.
    #[error("{}: {what} is {value}, over the limit of {limit}", path.display())]
    LimitExceeded {
        /// The object's path.
        path: PathBuf,
        /// What was counted.
        what: &'static str,
        /// The value found.
        value: u64,
        /// The configured limit.
        limit: u64,
    },
    /// The object asks for an executable stack (`PT_GNU_STACK` with `PF_X`, or no
    /// `PT_GNU_STACK` at all) and the caller did not allow it.
    #[error("{}: object requires an executable stack (allow it explicitly to load it)", path.display())]
    ExecutableStack {
        /// The object's path.
        path: PathBuf,
    },
    /// The object uses thread-local storage, which this loader cannot set up yet.
    #[error("{}: TLS not supported yet: {what}", path.display())]
    TlsUnsupported {
        /// The object's path.
        path: PathBuf,
        /// What uses TLS (`PT_TLS segment`, or a TLS relocation).
        what: String,
    },
    /// A segment is both writable and executable, or the object needs text
    /// relocations (`DT_TEXTREL`); both would need writable code.
    #[error("{}: refusing writable code: {what}", path.display())]
    WritableCode {
        /// The object's path.
        path: PathBuf,
        /// Which of the two cases, and where.
        what: String,
    },
    /// A relocation type this loader does not handle, or refuses (`R_X86_64_COPY`).
    #[error("{}: unsupported relocation {kind} against {}", path.display(), symbol.as_deref().unwrap_or("no symbol"))]
    UnsupportedRelocation {
        /// The object's path.
        path: PathBuf,
        /// The type, spelled as the psABI does where known (`R_X86_64_COPY`), else its number.
        kind: String,
        /// The symbol the relocation refers to, if any.
        symbol: Option<String>,
    },
    /// A relocation's value does not fit its field (a 32-bit PC-relative reference
    /// to something more than 2 GiB away).
    #[error("{}: relocation {kind} against {symbol} overflows", path.display())]
    RelocationOverflow {
        /// The object's path.
        path: PathBuf,
        /// The relocation type.
        kind: String,
        /// The symbol.
        symbol: String,
    },
    /// One or more imports could not be resolved anywhere in scope. All of them are
    /// listed, not only the first.
    #[error("{}: undefined symbol{} {}", path.display(), if symbols.len() == 1 { "" } else { "s" }, join_missing(symbols))]
    UnresolvedSymbols {
        /// The object that imports them.
        path: PathBuf,
        /// Every symbol that could not be resolved.
        symbols: Vec<MissingSymbol>,
    },
    /// A `DT_NEEDED` library was found nowhere.
    #[error("{}: needed library {name} not found (searched {})", needed_by.display(), join_paths(searched))]
    LibraryNotFound {
        /// The `DT_NEEDED` name.
        name: String,
        /// The object that needs it.
        needed_by: PathBuf,
        /// Every path tried, in order.
        searched: Vec<PathBuf>,
    },
    /// A memory mapping or protection change failed.
    #[error("{}: {op} failed: {source}", path.display())]
    Map {
        /// The object's path.
        path: PathBuf,
        /// The operation (`mmap`, `mprotect`).
        op: &'static str,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

impl Error {
    /// The path of the object this error is about.
    ///
    /// ```
    /// # use staticdl_loader::Error;
    /// let e = Error::NotElf { path: "/tmp/x.so".into() };
    /// assert_eq!(e.path(), std::path::Path::new("/tmp/x.so"));
    /// ```
    pub fn path(&self) -> &std::path::Path {
        match self {
            Error::Io { path, .. }
            | Error::NotElf { path }
            | Error::WrongArch { path, .. }
            | Error::NotSharedObject { path, .. }
            | Error::Malformed { path, .. }
            | Error::LimitExceeded { path, .. }
            | Error::ExecutableStack { path }
            | Error::TlsUnsupported { path, .. }
            | Error::WritableCode { path, .. }
            | Error::UnsupportedRelocation { path, .. }
            | Error::RelocationOverflow { path, .. }
            | Error::UnresolvedSymbols { path, .. }
            | Error::Map { path, .. } => path,
            Error::LibraryNotFound { needed_by, .. } => needed_by,
        }
    }

    pub(crate) fn malformed(path: &std::path::Path, what: impl Into<String>, offset: u64) -> Self {
        Error::Malformed {
            path: path.to_path_buf(),
            what: what.into(),
            offset,
        }
    }
}
