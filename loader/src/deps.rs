//! Where a `DT_NEEDED` name is looked for on disk.
//!
//! Owns the search order for a dependency file, which follows glibc's: a name with a
//! slash is a path; otherwise `DT_RPATH` of the object that needs it (only when it
//! has no `DT_RUNPATH`), the caller's search paths (the `LD_LIBRARY_PATH` slot), the
//! object's `DT_RUNPATH`, then the default system directories. `$ORIGIN` expands to
//! the directory of the object that needs the library. It does not open files or
//! decide between a file and a host-provided library; the namespace does.

use std::path::{Path, PathBuf};

use crate::arch::{Arch, Native};
use crate::module::Module;
use crate::options::LoadOptions;

/// The default directories, last in the search order: the architecture's
/// (for x86-64, Debian's multiarch layout first, as its ld.so.conf has them).
///
/// ```
/// assert!(staticdl_loader::SYSTEM_DIRS.contains(&"/usr/lib"));
/// ```
pub const SYSTEM_DIRS: &[&str] = <Native as Arch>::SYSTEM_DIRS;

/// Expand `$ORIGIN` / `${ORIGIN}` in one search-path entry; `None` when the entry
/// uses it and there is no origin (an object loaded from memory), as glibc drops
/// entries it cannot expand.
fn expand(entry: &str, origin: Option<&Path>) -> Option<PathBuf> {
    if !entry.contains("$ORIGIN") && !entry.contains("${ORIGIN}") {
        return Some(PathBuf::from(entry));
    }
    let o = origin?.to_string_lossy();
    Some(PathBuf::from(
        entry.replace("${ORIGIN}", &o).replace("$ORIGIN", &o),
    ))
}

fn split(m: &Module, off: Option<u32>) -> Vec<&str> {
    off.and_then(|o| m.dynamic.strtab.c_str(o))
        .and_then(|s| std::str::from_utf8(s).ok())
        .map(|s| s.split(':').filter(|e| !e.is_empty()).collect())
        .unwrap_or_default()
}

/// Every path to try for `name`, needed by `m` (or by nobody: a `dlopen` from the
/// host), in order.
pub(crate) fn candidates(name: &str, m: Option<&Module>, opts: &LoadOptions) -> Vec<PathBuf> {
    if name.contains('/') {
        return vec![PathBuf::from(name)];
    }
    let origin = m.and_then(Module::origin);
    let mut dirs: Vec<PathBuf> = Vec::new();
    let (rpath, runpath) = match m {
        Some(m) => (split(m, m.dynamic.rpath), split(m, m.dynamic.runpath)),
        None => (Vec::new(), Vec::new()),
    };
    if runpath.is_empty() {
        dirs.extend(rpath.iter().filter_map(|e| expand(e, origin)));
    }
    dirs.extend(opts.search_paths.iter().cloned());
    dirs.extend(runpath.iter().filter_map(|e| expand(e, origin)));
    if opts.system_dirs {
        dirs.extend(SYSTEM_DIRS.iter().map(PathBuf::from));
    }
    let mut out: Vec<PathBuf> = Vec::with_capacity(dirs.len());
    for d in dirs {
        let p = d.join(name);
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_expands_both_spellings() {
        let o = Some(Path::new("/opt/app/lib"));
        assert_eq!(
            expand("$ORIGIN/../x", o),
            Some(PathBuf::from("/opt/app/lib/../x"))
        );
        assert_eq!(expand("${ORIGIN}", o), Some(PathBuf::from("/opt/app/lib")));
        assert_eq!(expand("/usr/lib", o), Some(PathBuf::from("/usr/lib")));
        // Without an origin (an object loaded from memory) the entry is dropped.
        assert_eq!(expand("$ORIGIN/lib", None), None);
        assert_eq!(expand("/usr/lib", None), Some(PathBuf::from("/usr/lib")));
    }
}
