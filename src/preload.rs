//! Preloading: plugins listed in an environment variable, loaded at start-up
//! (the LD_PRELOAD and gopreload job, for static binaries).
//!
//! Owns [`from_env`] and the [`Preload`] builder behind it, the [`Report`] of
//! what was loaded, what failed and what was ignored for security, the split
//! of the variable into entries ([`entries`]), the messages (in glibc's
//! words), the secure-mode rules ([`SecureRule`]) and, with the `preload`
//! feature, the constructor that does all of it before `main` (`at_start.rs`).
//! It opens plugins through the facade like any other caller; it does not know
//! how they are loaded.
//!
//! Entries are split on `:` and white space; empty ones are skipped. Each is
//! its own open, in list order (glibc initialises `LD_PRELOAD="a b"` in
//! reverse, `b` then `a`; gopreload, like this, opens in list order), so one
//! failure leaves the others alone, and a file listed twice (by any names) is
//! loaded and initialised once. Preloaded plugins are never unloaded.
//!
//! Unsafe code is allowed in this module: secure mode is read from the
//! auxiliary vector (`getauxval(AT_SECURE)`), and the variable is removed from
//! the environment in secure mode.
#![allow(unsafe_code)]

use std::ffi::c_ulong;
use std::path::{Path, PathBuf};

use crate::error::{Error, OpenError};
use crate::options::OpenOptions;
use crate::plugin::Plugin;

#[cfg(feature = "preload")]
mod args;
#[cfg(feature = "preload")]
mod at_start;
#[cfg(feature = "preload")]
pub(crate) use at_start::keep as keep_at_start;
#[cfg(feature = "preload")]
pub use at_start::{at_start_report, AT_START_VARIABLE};

extern "C" {
    /// `getauxval(3)`, in musl and glibc.
    fn getauxval(kind: c_ulong) -> c_ulong;
}

/// `AT_SECURE`: set by the kernel for set-user-ID, set-group-ID and
/// file-capability executables.
const AT_SECURE: c_ulong = 23;

/// Whether the process runs in secure mode (`AT_SECURE`: it is set-user-ID,
/// set-group-ID or has file capabilities), as glibc's loader decides it.
///
/// ```
/// // A test binary is not set-user-ID.
/// assert!(!staticdl::preload::secure_mode());
/// ```
pub fn secure_mode() -> bool {
    // SAFETY: `getauxval` of a plain type number reads the auxiliary vector.
    unsafe { getauxval(AT_SECURE) != 0 }
}

/// The entries of a preload list: split on `:` and white space, empty ones
/// skipped, in order.
///
/// ```
/// let e = staticdl::preload::entries("./a.so:./missing.so ./b.so ::./a.so ");
/// assert_eq!(e, ["./a.so", "./missing.so", "./b.so", "./a.so"]);
/// ```
pub fn entries(list: &str) -> Vec<&str> {
    list.split(|c: char| c == ':' || c.is_ascii_whitespace())
        .filter(|e| !e.is_empty())
        .collect()
}

/// What to do in secure mode ([`secure_mode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SecureRule {
    /// Load nothing, say so in one line, and remove the variable from the
    /// environment (the default).
    #[default]
    LoadNothing,
    /// glibc's rule for `LD_PRELOAD`: entries with a `/` are dropped silently,
    /// bare names are looked for in the system directories only, and a file
    /// there is loaded only if it is itself set-user-ID. The variable is
    /// removed from the environment all the same.
    Glibc,
}

/// A preload entry that failed.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The entry as listed.
    pub entry: String,
    /// Why it failed.
    pub error: Error,
}

impl Failure {
    /// The reason in glibc's words where glibc has them (`cannot open shared
    /// object file`), else staticdl's.
    ///
    /// ```
    /// use staticdl::preload::Preload;
    /// let r = Preload::new("STATICDL_PRELOAD").quiet(true).load_from("./no-such-plugin.so")?;
    /// assert_eq!(r.failed[0].reason(), "cannot open shared object file");
    /// # Ok::<(), staticdl::preload::PreloadError>(())
    /// ```
    pub fn reason(&self) -> String {
        match self.error.open_error() {
            Some(OpenError::Path { source }) if source.kind() == std::io::ErrorKind::NotFound => {
                "cannot open shared object file".to_owned()
            }
            Some(OpenError::Path { source }) => {
                format!("cannot open shared object file: {source}")
            }
            Some(cause) => cause.to_string(),
            None => self.error.to_string(),
        }
    }
}

/// What a preload did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The plugins loaded, in list order, each once.
    pub loaded: Vec<Plugin>,
    /// The entries that failed, in list order.
    pub failed: Vec<Failure>,
    /// Entries not even tried, for security (secure mode).
    pub ignored: Vec<String>,
    /// Whether the process ran in secure mode.
    pub secure: bool,
}

/// The error a [`Preload::fail_fast`] preload returns: the first entry that
/// failed (the plugins loaded before it stay loaded).
#[derive(Debug, Clone, thiserror::Error)]
#[error("object '{}' from {variable} cannot be preloaded ({})", .failure.entry, .failure.reason())]
pub struct PreloadError {
    /// The variable the list came from.
    pub variable: String,
    /// The entry and its error.
    pub failure: Failure,
}

/// How to preload: the variable, what to do with failures and in secure mode,
/// and the options each plugin is opened with.
///
/// ```no_run
/// use staticdl::preload::{Preload, SecureRule};
/// let report = Preload::new("MYAPP_PRELOAD")
///     .secure_rule(SecureRule::Glibc)
///     .fail_fast(true)
///     .load()?;
/// println!("{} plugins", report.loaded.len());
/// # Ok::<(), staticdl::preload::PreloadError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Preload {
    variable: String,
    fail_fast: bool,
    quiet: bool,
    rule: SecureRule,
    options: OpenOptions,
}

impl Preload {
    /// Preloading from the environment variable `variable`, with the defaults:
    /// failures are reported (one line each on standard error) and skipped,
    /// nothing is loaded in secure mode, plugins are opened with the default
    /// options and kept loaded.
    ///
    /// ```
    /// let p = staticdl::preload::Preload::new("STATICDL_PRELOAD");
    /// # drop(p);
    /// ```
    pub fn new(variable: &str) -> Self {
        Preload {
            variable: variable.to_owned(),
            fail_fast: false,
            quiet: false,
            rule: SecureRule::default(),
            options: OpenOptions::new(),
        }
    }

    /// Stop at the first entry that fails and return its error (default false:
    /// report it and go on).
    ///
    /// ```
    /// let p = staticdl::preload::Preload::new("STATICDL_PRELOAD").fail_fast(true);
    /// # drop(p);
    /// ```
    pub fn fail_fast(mut self, yes: bool) -> Self {
        self.fail_fast = yes;
        self
    }

    /// Write nothing to standard error (default false); the report says it all.
    ///
    /// ```
    /// let p = staticdl::preload::Preload::new("STATICDL_PRELOAD").quiet(true);
    /// # drop(p);
    /// ```
    pub fn quiet(mut self, yes: bool) -> Self {
        self.quiet = yes;
        self
    }

    /// What to do in secure mode (default [`SecureRule::LoadNothing`]).
    ///
    /// ```
    /// use staticdl::preload::{Preload, SecureRule};
    /// let p = Preload::new("STATICDL_PRELOAD").secure_rule(SecureRule::Glibc);
    /// # drop(p);
    /// ```
    pub fn secure_rule(mut self, rule: SecureRule) -> Self {
        self.rule = rule;
        self
    }

    /// The options each plugin is opened with (`keep_loaded` is always set).
    ///
    /// ```
    /// let p = staticdl::preload::Preload::new("STATICDL_PRELOAD")
    ///     .options(staticdl::OpenOptions::new().search_path("/opt/app/lib"));
    /// # drop(p);
    /// ```
    pub fn options(mut self, options: OpenOptions) -> Self {
        self.options = options;
        self
    }

    /// Preloads what the variable lists (nothing, without a system call, when
    /// it is unset).
    ///
    /// # Errors
    /// With [`fail_fast`](Preload::fail_fast), the first entry that failed.
    ///
    /// ```no_run
    /// let report = staticdl::preload::Preload::new("STATICDL_PRELOAD").load()?;
    /// for p in &report.loaded {
    ///     println!("preloaded {}", p.path().display());
    /// }
    /// # Ok::<(), staticdl::preload::PreloadError>(())
    /// ```
    pub fn load(&self) -> Result<Report, PreloadError> {
        let Some(value) = std::env::var_os(&self.variable) else {
            return Ok(Report::default());
        };
        let value = value.to_string_lossy().into_owned();
        self.load_list(&value, secure_mode())
    }

    /// Preloads `list` as if it were the variable's value (a list read from a
    /// configuration file, say); in secure mode the variable is still removed.
    ///
    /// # Errors
    /// With [`fail_fast`](Preload::fail_fast), the first entry that failed.
    ///
    /// ```no_run
    /// let report = staticdl::preload::Preload::new("STATICDL_PRELOAD")
    ///     .load_from("/opt/app/libmetrics.so:/opt/app/libtrace.so")?;
    /// # drop(report);
    /// # Ok::<(), staticdl::preload::PreloadError>(())
    /// ```
    pub fn load_from(&self, list: &str) -> Result<Report, PreloadError> {
        self.load_list(list, secure_mode())
    }

    /// Preloads `list` as if it were the variable's value; `secure` as if the
    /// process ran in secure mode.
    fn load_list(&self, list: &str, secure: bool) -> Result<Report, PreloadError> {
        let mut report = Report {
            secure,
            ..Report::default()
        };
        if secure {
            self.forget_variable();
        }
        if secure && self.rule == SecureRule::LoadNothing {
            report.ignored = entries(list).into_iter().map(str::to_owned).collect();
            if !report.ignored.is_empty() && !self.quiet {
                eprintln!(
                    "staticdl: {} ignored: the process runs in secure mode (set-user-ID, set-group-ID or capabilities)",
                    self.variable
                );
            }
            return Ok(report);
        }
        let options = self.options.clone().keep_loaded(true);
        for entry in entries(list) {
            if secure && entry.contains('/') {
                report.ignored.push(entry.to_owned());
                continue;
            }
            let path = locate(entry, secure);
            match options.open(&path) {
                Ok(p) => {
                    if !report.loaded.iter().any(|q| Plugin::same(q, &p)) {
                        report.loaded.push(p);
                    }
                }
                Err(error) => {
                    let failure = Failure {
                        entry: entry.to_owned(),
                        error,
                    };
                    if self.fail_fast {
                        return Err(PreloadError {
                            variable: self.variable.clone(),
                            failure,
                        });
                    }
                    if !self.quiet {
                        eprintln!(
                            "staticdl: object '{}' from {} cannot be preloaded ({}): ignored.",
                            failure.entry,
                            self.variable,
                            failure.reason()
                        );
                    }
                    report.failed.push(failure);
                }
            }
        }
        Ok(report)
    }

    /// Removes the variable from the environment, so that no child inherits it.
    fn forget_variable(&self) {
        // Preloading runs before the host starts threads (in the constructor,
        // or at the top of `main`), which is when changing the environment is
        // sound.
        if std::env::var_os(&self.variable).is_some() {
            std::env::remove_var(&self.variable);
        }
    }
}

/// Where to open `entry` from: a path as it is; a bare name in the system
/// directories (the first that has it; in secure mode, only a set-user-ID
/// file), or, if none has it, the name itself (which then fails to open).
fn locate(entry: &str, secure: bool) -> PathBuf {
    if entry.contains('/') {
        return PathBuf::from(entry);
    }
    for dir in staticdl_loader::SYSTEM_DIRS {
        let candidate = Path::new(dir).join(entry);
        if let Ok(meta) = std::fs::metadata(&candidate) {
            use std::os::unix::fs::PermissionsExt;
            if !secure || meta.permissions().mode() & 0o4000 != 0 {
                return candidate;
            }
        }
    }
    // A name with no directory of its own, relative to nothing: opening it
    // fails with "cannot open shared object file".
    Path::new("/nonexistent/staticdl-preload").join(entry)
}

/// Preloads the plugins `variable` lists with the default [`Preload`]: each
/// failure is reported in glibc's words on standard error and skipped, and
/// nothing is loaded in secure mode. Never panics; with the variable unset it
/// makes no system call.
///
/// ```no_run
/// let report = staticdl::preload::from_env("STATICDL_PRELOAD");
/// for f in &report.failed {
///     eprintln!("{}: {}", f.entry, f.reason());
/// }
/// ```
pub fn from_env(variable: &str) -> Report {
    Preload::new(variable).load().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_entry_fails_in_glibc_words_and_the_others_go_on() {
        let p = Preload::new("X").quiet(true);
        let r = p
            .load_list("/nonexistent/a.so  :: /nonexistent/b.so", false)
            .unwrap();
        assert_eq!(r.failed.len(), 2);
        assert_eq!(r.failed[1].entry, "/nonexistent/b.so");
        assert_eq!(r.failed[0].reason(), "cannot open shared object file");
        let e = p
            .clone()
            .fail_fast(true)
            .load_list("/nonexistent/a.so", false);
        assert_eq!(
            e.unwrap_err().to_string(),
            "object '/nonexistent/a.so' from X cannot be preloaded (cannot open shared object file)"
        );
    }

    #[test]
    fn secure_mode_loads_nothing_by_default_and_drops_paths_under_glibcs_rule() {
        let r = Preload::new("STATICDL_TEST_UNSET_VARIABLE")
            .quiet(true)
            .load_list("./a.so libz.so.1", true)
            .unwrap();
        assert!(r.secure && r.loaded.is_empty() && r.failed.is_empty());
        assert_eq!(r.ignored, ["./a.so", "libz.so.1"]);
        let r = Preload::new("STATICDL_TEST_UNSET_VARIABLE")
            .quiet(true)
            .secure_rule(SecureRule::Glibc)
            .load_list("./a.so libz.so.1", true)
            .unwrap();
        // libz.so.1 is in a system directory, but not set-user-ID.
        assert_eq!(r.ignored, ["./a.so"]);
        assert_eq!(r.failed.len(), 1);
        assert_eq!(r.failed[0].reason(), "cannot open shared object file");
    }
}
