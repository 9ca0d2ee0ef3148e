//! The facade's error type.
//!
//! Owns [`Error`] (what [`Plugin::open`](crate::Plugin::open) and the lookups
//! return) and [`OpenError`] (why an open failed, shared between every caller that
//! gets the same remembered failure). The Display of an open failure reads
//! `open("x.so"): undefined symbol foo (previous failure)`.
//!
//! Does not own the loader's own errors ([`staticdl_loader::Error`], wrapped here
//! unchanged) or deciding when a failure is remembered (the registry does).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Everything the facade can report.
///
/// Open failures carry the path exactly as it was requested, the cause, and whether
/// the failure is one remembered from an earlier call (see
/// [`forget_failure`](crate::forget_failure)).
///
/// ```
/// use staticdl::Error;
///
/// let err = staticdl::Plugin::open("/no/such/plugin.so").unwrap_err();
/// assert!(matches!(err, Error::Open { .. }));
/// assert_eq!(err.path(), Some(std::path::Path::new("/no/such/plugin.so")));
/// assert!(err.to_string().starts_with("open(\"/no/such/plugin.so\"): "));
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Opening a plugin failed.
    #[error("open({path:?}): {cause}{}", previous_suffix(*.previous))]
    Open {
        /// The path as the caller passed it.
        path: PathBuf,
        /// Why it failed.
        #[source]
        cause: Arc<OpenError>,
        /// Whether this failure was remembered from an earlier attempt rather than
        /// produced by this call (or by a load this call waited for).
        previous: bool,
    },
    /// No object in the plugin's scope defines the symbol.
    #[error("symbol {name:?} not found in {}", path.display())]
    SymbolNotFound {
        /// The plugin's canonical path.
        path: PathBuf,
        /// The name looked up (with its `@VERSION`, if one was given).
        name: String,
    },
    /// A typed lookup on a plugin without a `STATICDL_PLUGIN` descriptor: there are
    /// no declared signatures to check against.
    #[error("{} has no STATICDL_PLUGIN descriptor, so {name:?} has no declared signature (use the unsafe `symbol` lookup)", path.display())]
    NoDescriptor {
        /// The plugin's canonical path.
        path: PathBuf,
        /// The name looked up.
        name: String,
    },
    /// A typed lookup of a name that the plugin's descriptor does not export.
    #[error("{} does not export {name:?} in its descriptor", path.display())]
    NotExported {
        /// The plugin's canonical path.
        path: PathBuf,
        /// The name looked up.
        name: String,
    },
    /// A typed lookup whose Rust type does not match the signature the plugin
    /// declared.
    #[error("{name}: signature mismatch: expected `{expected}`, found `{found}`")]
    SignatureMismatch {
        /// The export's name.
        name: String,
        /// The signature of the requested Rust type, e.g. `fn(i64)->i32`.
        expected: String,
        /// The signature the plugin declared, e.g. `fn(i32)->i32`.
        found: String,
    },
}

impl Error {
    /// The path the failed call was about: the requested path for open failures,
    /// the plugin's canonical path for lookups; `None` for signature mismatches.
    ///
    /// ```
    /// let err = staticdl::Plugin::open("missing.so").unwrap_err();
    /// assert_eq!(err.path(), Some(std::path::Path::new("missing.so")));
    /// ```
    pub fn path(&self) -> Option<&Path> {
        match self {
            Error::Open { path, .. }
            | Error::SymbolNotFound { path, .. }
            | Error::NoDescriptor { path, .. }
            | Error::NotExported { path, .. } => Some(path),
            Error::SignatureMismatch { .. } => None,
        }
    }

    /// Whether this is a failure remembered from an earlier open of the same plugin.
    ///
    /// ```
    /// let err = staticdl::Plugin::open("/no/such/plugin.so").unwrap_err();
    /// assert!(!err.is_previous_failure());
    /// ```
    pub fn is_previous_failure(&self) -> bool {
        matches!(self, Error::Open { previous: true, .. })
    }

    /// Why an open failed, if this is an open failure.
    ///
    /// ```
    /// use staticdl::OpenError;
    /// let err = staticdl::Plugin::open("/no/such/plugin.so").unwrap_err();
    /// assert!(matches!(err.open_error(), Some(OpenError::Path { .. })));
    /// ```
    pub fn open_error(&self) -> Option<&OpenError> {
        match self {
            Error::Open { cause, .. } => Some(cause),
            _ => None,
        }
    }

    /// The loader's error, if the open failed while loading the object.
    ///
    /// ```
    /// let err = staticdl::Plugin::open("/no/such/plugin.so").unwrap_err();
    /// assert!(err.loader_error().is_none()); // it failed before loading
    /// ```
    pub fn loader_error(&self) -> Option<&staticdl_loader::Error> {
        match self.open_error()? {
            OpenError::Load { error, .. } => Some(error),
            _ => None,
        }
    }

    pub(crate) fn open(path: &Path, cause: Arc<OpenError>, previous: bool) -> Self {
        Error::Open {
            path: path.to_path_buf(),
            cause,
            previous,
        }
    }
}

/// Why opening a plugin failed. Shared (behind an `Arc`) by every caller that
/// receives the same remembered failure.
///
/// ```
/// use staticdl::OpenError;
/// let e = OpenError::InitFailed { plugin: "hello".into(), code: 7 };
/// assert_eq!(e.to_string(), "plugin hello: init returned 7");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The path could not be resolved to a file (missing, a dangling symlink, a
    /// symlink loop, a component that is not a directory ...).
    #[error("cannot resolve path: {source}")]
    Path {
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The loader refused or failed to load the object (or one of its
    /// dependencies).
    #[error("{}", LoadDisplay::new(.error, .object))]
    Load {
        /// The loader's error.
        #[source]
        error: staticdl_loader::Error,
        /// The canonical path of the object that was opened; the loader's message
        /// loses its path prefix when it is about this very object.
        object: PathBuf,
    },
    /// The plugin's descriptor was built for another version of the plugin ABI.
    #[error("plugin built for staticdl ABI version {found}, this host speaks version {supported}")]
    AbiVersion {
        /// The plugin's ABI version.
        found: u32,
        /// The host's ABI version ([`staticdl_abi::ABI_VERSION`]).
        supported: u32,
    },
    /// The `STATICDL_PLUGIN` descriptor is malformed (bad magic, a broken string or
    /// table, a route without a handler ...).
    #[error("invalid STATICDL_PLUGIN descriptor: {0}")]
    Descriptor(String),
    /// The plugin's `init` returned a non-zero code; the plugin was unloaded
    /// without calling its `fini`.
    #[error("plugin {plugin}: init returned {code}")]
    InitFailed {
        /// The plugin's declared name.
        plugin: String,
        /// The code `init` returned.
        code: i32,
    },
    /// The plugin was opened again from inside its own `init` or `fini`
    /// (directly or through a host callback); waiting for that load or unload
    /// would never end.
    #[error("opened again while its own init or fini was running")]
    Reentrant,
    /// The thread that was loading the plugin panicked.
    #[error("the thread loading the plugin panicked")]
    Panicked,
}

fn previous_suffix(previous: bool) -> &'static str {
    if previous {
        " (previous failure)"
    } else {
        ""
    }
}

/// The loader's message, without its path when the path is the object being
/// opened (the facade's message already names it).
struct LoadDisplay<'a> {
    error: &'a staticdl_loader::Error,
    object: &'a Path,
}

impl<'a> LoadDisplay<'a> {
    fn new(error: &'a staticdl_loader::Error, object: &'a Path) -> Self {
        LoadDisplay { error, object }
    }
}

impl fmt::Display for LoadDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.error.path() == self.object {
            self.error.kind().fmt(f)
        } else {
            self.error.fmt(f)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_failure_reads_like_the_design() {
        let cause = Arc::new(OpenError::Load {
            error: staticdl_loader::Error::new(
                "/p/x.so",
                staticdl_loader::ErrorKind::UnresolvedSymbols {
                    symbols: vec![staticdl_loader::MissingSymbol {
                        name: "foo".into(),
                        version: None,
                    }],
                },
            ),
            object: "/p/x.so".into(),
        });
        let e = Error::open(Path::new("x.so"), cause.clone(), true);
        assert_eq!(
            e.to_string(),
            "open(\"x.so\"): undefined symbol foo (previous failure)"
        );
        let e = Error::open(Path::new("x.so"), cause, false);
        assert_eq!(e.to_string(), "open(\"x.so\"): undefined symbol foo");
        assert!(e.loader_error().is_some());
    }

    #[test]
    fn errors_about_a_dependency_keep_its_path() {
        let cause = Arc::new(OpenError::Load {
            error: staticdl_loader::Error::new("/p/libdep.so", staticdl_loader::ErrorKind::NotElf),
            object: "/p/x.so".into(),
        });
        let e = Error::open(Path::new("/p/x.so"), cause, false);
        assert_eq!(
            e.to_string(),
            "open(\"/p/x.so\"): /p/libdep.so: not an ELF file"
        );
    }
}
