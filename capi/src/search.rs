//! Where `dlopen` finds a bare name (one without a slash).
//!
//! Owns the search glibc does for a `dlopen` from the executable: an object
//! already loaded with that `DT_SONAME` (a dependency of another plugin, say) is
//! that object; otherwise `LD_LIBRARY_PATH` (read once, at the first search, as
//! glibc reads it at start-up), then the system directories
//! ([`SYSTEM_DIRS`], Debian's multiarch layout first). The executable's own
//! `DT_RPATH`/`DT_RUNPATH` are not searched (a static executable has none) and
//! there is no `ld.so.cache`. The first candidate that is a file wins. Does not
//! open or load anything (`open.rs` does).

use std::path::PathBuf;

use staticdl_loader::SYSTEM_DIRS;

/// The path `dlopen(name)` loads for the bare `name`, or `None` if there is
/// none.
pub(crate) fn find(name: &str) -> Option<PathBuf> {
    if let Some(lib) = staticdl_libc::namespace().loaded_by_name(name) {
        return Some(lib.path().to_path_buf());
    }
    staticdl_libc::library_path()
        .iter()
        .cloned()
        .chain(SYSTEM_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_directories_are_searched() {
        // Whatever the machine, the first system directory holding the C
        // library's own runtime file is where the search stops.
        let expected = SYSTEM_DIRS
            .iter()
            .map(|d| PathBuf::from(d).join("libc.so.6"))
            .find(|p| p.is_file());
        if std::env::var_os("LD_LIBRARY_PATH").is_none() {
            assert_eq!(find("libc.so.6"), expected);
        }
        assert_eq!(find("libstaticdl-search-test-none.so.9"), None);
    }
}
