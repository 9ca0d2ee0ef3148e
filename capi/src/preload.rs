//! `staticdl_preload(variable)`: the objects an environment variable lists,
//! loaded now, as `LD_PRELOAD` loads them for a dynamic program.
//!
//! Owns the list's rules: entries split on `:` and spaces, empty ones skipped,
//! each its own load (one failure does not stop the others), in list order
//! (glibc initialises `LD_PRELOAD` in reverse), the same file named twice
//! loaded and initialised once. A bare name is searched as `dlopen` searches it.
//! Preloaded objects join the global scope and are never unloaded, as glibc
//! treats preloaded objects. A failure prints one line on standard error in
//! glibc's words, `staticdl: object 'X' from VAR cannot be preloaded (REASON):
//! ignored.`, and leaves its message for `staticdl_error()`. In secure mode
//! (`AT_SECURE`: setuid, setgid, file capabilities) nothing is loaded: one line
//! is printed and the variable is removed from the environment, so children do
//! not see it. An unset or empty variable costs no system call beyond reading
//! the environment. Does not own the opens themselves (`open.rs`).
//!
//! Unsafe code is allowed in this module: it asks `getauxval` for
//! `AT_SECURE` and removes the variable with `unsetenv`.
#![allow(unsafe_code)]

use std::collections::HashSet;
use std::ffi::CString;
use std::io::Write as _;

use crate::open::{self, How};
use crate::{message, search, wording};

/// The variable `staticdl_preload(NULL)` reads.
pub(crate) const DEFAULT_VARIABLE: &str = "STATICDL_PRELOAD";

/// The entries of a preload list, in order, empty ones skipped.
pub(crate) fn entries(list: &str) -> impl Iterator<Item = &str> {
    list.split([':', ' ']).filter(|e| !e.is_empty())
}

/// What one preload did.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Report {
    /// Distinct objects loaded (or found loaded), in list order, by path.
    pub loaded: Vec<String>,
    /// Entries that failed, with glibc's reason.
    pub failed: Vec<(String, String)>,
    /// Whether secure mode refused the whole list.
    pub refused: bool,
}

/// Whether the process runs in secure mode (`AT_SECURE`).
fn secure() -> bool {
    // SAFETY: getauxval has no preconditions.
    unsafe { libc::getauxval(libc::AT_SECURE) != 0 }
}

/// Loads what `variable` lists, printing a line per failure.
pub(crate) fn preload(variable: &str) -> Report {
    let mut report = Report::default();
    let Some(list) = std::env::var_os(variable) else {
        return report;
    };
    let list = list.to_string_lossy().into_owned();
    if entries(&list).next().is_none() {
        return report;
    }
    if secure() {
        report.refused = true;
        line(&format!(
            "staticdl: {variable} ignored in secure mode (AT_SECURE): nothing preloaded"
        ));
        if let Ok(name) = CString::new(variable) {
            // SAFETY: a C string; unsetenv copies nothing and keeps nothing.
            unsafe { libc::unsetenv(name.as_ptr()) };
        }
        return report;
    }
    let how = How {
        global: true,
        keep_loaded: true,
        lazy: false,
    };
    let mut seen: HashSet<std::path::PathBuf> = HashSet::new();
    for entry in entries(&list) {
        match load(entry, how) {
            Ok(plugin) => {
                if seen.insert(plugin.path().to_path_buf()) {
                    report.loaded.push(plugin.path().display().to_string());
                }
            }
            Err((facade, reason)) => {
                line(&format!(
                    "staticdl: object '{entry}' from {variable} cannot be preloaded ({reason}): ignored."
                ));
                message::fail(&facade, &format!("{entry}: {reason}"));
                report.failed.push((entry.to_owned(), reason));
            }
        }
    }
    report
}

/// One entry's load: the plugin, or the facade's message and glibc's reason.
fn load(entry: &str, how: How) -> Result<staticdl::Plugin, (String, String)> {
    let path = if entry.contains('/') {
        entry.to_owned()
    } else {
        match search::find(entry) {
            Some(p) => p.to_string_lossy().into_owned(),
            None => {
                return Err((
                    format!("open({entry:?}): not found in the library path"),
                    "cannot open shared object file".to_owned(),
                ))
            }
        }
    };
    open::plugin(&path, how).map_err(|e| {
        let glibc = wording::open_failure(&path, &e);
        // glibc's reason is the message without the object's name.
        let reason = glibc
            .strip_prefix(&format!("{path}: "))
            .unwrap_or(&glibc)
            .to_owned();
        let reason = match reason.split_once(": ") {
            Some(("cannot open shared object file", _)) => {
                "cannot open shared object file".to_owned()
            }
            _ => reason,
        };
        (e.to_string(), reason)
    })
}

/// One line on standard error, written at once.
fn line(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_split_on_colons_and_spaces() {
        let got: Vec<_> = entries("./a.so:./missing.so ./b.so ./a.so").collect();
        assert_eq!(got, ["./a.so", "./missing.so", "./b.so", "./a.so"]);
        assert_eq!(entries(" :: ").count(), 0);
        assert_eq!(entries("").count(), 0);
    }

    #[test]
    fn an_unset_variable_loads_nothing() {
        let report = preload("STATICDL_PRELOAD_TEST_NEVER_SET");
        assert_eq!(report, Report::default());
    }

    #[test]
    fn a_missing_entry_fails_alone() {
        std::env::set_var(
            "STATICDL_PRELOAD_TEST_MISSING",
            "/no/such/a.so libnone-here.so.3",
        );
        let report = preload("STATICDL_PRELOAD_TEST_MISSING");
        assert!(report.loaded.is_empty());
        assert_eq!(report.failed.len(), 2);
        assert!(report
            .failed
            .iter()
            .all(|(_, why)| why == "cannot open shared object file"));
    }
}
