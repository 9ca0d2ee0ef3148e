//! Canonical paths, resolved without libc.
//!
//! Owns [`canonicalize`]: `realpath` done by hand with `rustix` (`getcwd`,
//! `statat` without following, `readlinkat`), one component at a time, so that
//! every name of a plugin — relative, through `..`, through symlinks — becomes the
//! one key a registry files it under. It also returns the file's identity
//! ([`FileId`]: `st_dev`, `st_ino`), which catches hard links; with the
//! namespace's own matching by absolute path and identity, it is the one answer
//! to "which file is this" that the facade's registry and plugins' `dlopen`
//! share. It does not open or read the file; a load does.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, CWD};

use crate::file::FileId;

/// How many symbolic links one resolution may follow (Linux's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// The absolute path of `path` with every `.`, `..` and symbolic link resolved,
/// and the identity of the file it names, without the C library (no `realpath`).
///
/// Fails like `realpath(3)`: `NotFound` for a missing component or a dangling link,
/// `NotADirectory` when a non-directory has further components, and an
/// `ELOOP` error after 40 links.
///
/// ```
/// let (path, id) = staticdl_loader::canonicalize("/usr/../usr/./lib").unwrap();
/// assert_eq!(path, std::path::PathBuf::from("/usr/lib"));
/// assert_eq!(id, staticdl_loader::FileId::of("/usr/lib").unwrap());
/// ```
pub fn canonicalize(path: impl AsRef<Path>) -> io::Result<(PathBuf, FileId)> {
    let path = path.as_ref();
    if path.as_os_str().is_empty() {
        return Err(io::Error::from(io::ErrorKind::NotFound));
    }
    let mut resolved: Vec<OsString> = Vec::new();
    let mut pending: VecDeque<OsString> = VecDeque::new();
    if path.is_relative() {
        let cwd = rustix::process::getcwd(Vec::new())?;
        // The kernel's current directory is already canonical.
        resolved.extend(components(OsStr::from_bytes(cwd.as_bytes())));
    }
    pending.extend(components(path.as_os_str()));
    let mut links = 0;
    // The identity of the last component resolved (the root's, for "/").
    let root = rustix::fs::statat(CWD, "/", AtFlags::empty())?;
    let mut id = FileId {
        dev: root.st_dev,
        ino: root.st_ino,
    };
    let mut is_dir = true;
    while let Some(part) = pending.pop_front() {
        if !is_dir {
            return Err(io::Error::from(io::ErrorKind::NotADirectory));
        }
        if part == "." {
            continue;
        }
        if part == ".." {
            resolved.pop();
            // `..` of a directory is a directory; its identity is read again when
            // it matters (the final component), below.
            if pending.is_empty() {
                let st = rustix::fs::statat(CWD, join(&resolved), AtFlags::empty())?;
                id = FileId {
                    dev: st.st_dev,
                    ino: st.st_ino,
                };
            }
            continue;
        }
        let candidate = join_with(&resolved, &part);
        let st = rustix::fs::statat(CWD, &candidate, AtFlags::SYMLINK_NOFOLLOW)?;
        if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
            links += 1;
            if links > MAX_LINKS {
                return Err(io::Error::from_raw_os_error(
                    rustix::io::Errno::LOOP.raw_os_error(),
                ));
            }
            let target = rustix::fs::readlinkat(CWD, &candidate, Vec::new())?;
            let target = OsString::from_vec(target.into_bytes());
            if target.as_bytes().first() == Some(&b'/') {
                resolved.clear();
            }
            for (i, c) in components(&target).into_iter().enumerate() {
                pending.insert(i, c);
            }
            continue;
        }
        is_dir = FileType::from_raw_mode(st.st_mode) == FileType::Directory;
        id = FileId {
            dev: st.st_dev,
            ino: st.st_ino,
        };
        resolved.push(part);
    }
    Ok((join(&resolved), id))
}

/// The non-empty components of `path` (repeated and trailing slashes dropped).
fn components(path: &OsStr) -> Vec<OsString> {
    path.as_bytes()
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .map(|c| OsStr::from_bytes(c).to_os_string())
        .collect()
}

fn join(parts: &[OsString]) -> PathBuf {
    let mut out = OsString::from("/");
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push("/");
        }
        out.push(p);
    }
    PathBuf::from(out)
}

fn join_with(parts: &[OsString], last: &OsStr) -> PathBuf {
    let mut p = join(parts);
    p.push(last);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("staticdl-path-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        // Resolve the temp dir itself once with std, which must agree.
        fs::canonicalize(&dir).unwrap()
    }

    #[test]
    fn agrees_with_std_on_links_and_dots() {
        let d = scratch("links");
        fs::create_dir_all(d.join("a/b")).unwrap();
        fs::write(d.join("a/b/lib.so"), b"x").unwrap();
        symlink("a/b", d.join("rel")).unwrap();
        symlink(d.join("a"), d.join("abs")).unwrap();
        symlink("../b/lib.so", d.join("a/b/up")).unwrap();
        symlink("up", d.join("a/b/chain")).unwrap();
        for p in [
            d.join("a/b/lib.so"),
            d.join("rel/lib.so"),
            d.join("abs/b/../b/./lib.so"),
            d.join("a/b/chain"),
            d.join("rel/../b/up"),
            d.join("a//b///lib.so"),
        ] {
            let (ours, id) = canonicalize(&p).unwrap();
            assert_eq!(ours, fs::canonicalize(&p).unwrap(), "{}", p.display());
            let meta = std::os::unix::fs::MetadataExt::ino(&fs::metadata(&p).unwrap());
            assert_eq!(id.ino, meta);
        }
        let (dir, _) = canonicalize(d.join("rel/..")).unwrap();
        assert_eq!(dir, d.join("a"));
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn relative_paths_start_at_the_current_directory() {
        let (ours, _) = canonicalize(Path::new("Cargo.toml")).unwrap();
        assert_eq!(ours, fs::canonicalize("Cargo.toml").unwrap());
    }

    #[test]
    fn failures_match_realpath() {
        let d = scratch("fail");
        fs::write(d.join("file"), b"x").unwrap();
        symlink("nowhere", d.join("dangling")).unwrap();
        symlink("loop2", d.join("loop1")).unwrap();
        symlink("loop1", d.join("loop2")).unwrap();
        let kind = |p: &str| canonicalize(d.join(p)).unwrap_err();
        assert_eq!(kind("missing").kind(), io::ErrorKind::NotFound);
        assert_eq!(kind("dangling").kind(), io::ErrorKind::NotFound);
        assert_eq!(kind("file/x").kind(), io::ErrorKind::NotADirectory);
        assert_eq!(
            kind("loop1").raw_os_error(),
            Some(rustix::io::Errno::LOOP.raw_os_error())
        );
        assert_eq!(
            canonicalize(Path::new("")).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        let _ = fs::remove_dir_all(&d);
    }
}
