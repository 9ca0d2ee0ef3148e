//! The coverage set: every regular shared object that the Debian packages
//! listed in `tests/coverage-packages.txt` install (`.ci/run` installs them),
//! found with `dpkg -L`: regular ELF shared objects, not executables flagged
//! `DF_1_PIE`, not glibc's own libraries (the provider answers them) nor the
//! sanitizer runtimes (which must own the process from its start).
//!
//! Shared by `tests/coverage.rs` (how many load) and `tests/check.rs` (whether
//! the preflight agrees with the open on each). Does not load anything.

#[path = "elf64.rs"]
mod elf64;

use std::path::{Path, PathBuf};
use std::process::Command;

const DT_FLAGS_1: u64 = 0x6fff_fffb;
const DF_1_PIE: u64 = 0x0800_0000;
const ET_DYN: u16 = 3;

fn packages() -> Vec<String> {
    let list = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/coverage-packages.txt");
    std::fs::read_to_string(&list)
        .unwrap_or_else(|e| panic!("{}: {e}", list.display()))
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// glibc's own libraries (the provider answers them; they are never loaded)
/// and the sanitizer runtimes (which need to own the process from its start).
fn excluded(path: &Path) -> bool {
    let Some(name) = path.file_name() else {
        return true;
    };
    let name = name.to_string_lossy();
    const GLIBC: &[&str] = &[
        "libc.so",
        "libm.so",
        "libpthread.so",
        "libdl.so",
        "librt.so",
        "libutil.so",
        "ld-linux-x86-64.so",
        "libresolv.so",
        "libanl.so",
        "libnsl.so.1",
        "libBrokenLocale.so",
        "libmvec.so",
        "libc_malloc_debug.so",
        "libthread_db.so",
        "libnss_",
        "libmemusage.so",
        "libpcprofile.so",
    ];
    let san = ["libasan", "libtsan", "liblsan", "libubsan", "libhwasan"];
    GLIBC.iter().any(|g| name.starts_with(g)) || san.iter().any(|s| name.starts_with(s))
}

/// Whether `path` is a regular file holding an x86-64 ELF shared object that
/// is not a position-independent executable.
fn is_shared_object(path: &Path) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    if !meta.file_type().is_file() || meta.len() < 64 {
        return false;
    }
    let mut head = [0u8; 20];
    {
        use std::io::Read;
        let Ok(mut f) = std::fs::File::open(path) else {
            return false;
        };
        if f.read_exact(&mut head).is_err() {
            return false;
        }
    }
    if &head[..4] != b"\x7fELF" || head[4] != 2 || elf64::rd16(&head, 16) != ET_DYN {
        return false;
    }
    let elf = elf64::Elf::read(path);
    if elf.phdr(elf64::PT_DYNAMIC).is_none() {
        return false;
    }
    elf.dyn_val(DT_FLAGS_1).unwrap_or(0) & DF_1_PIE == 0
}

/// Every object the packages install, sorted, with its package.
pub fn objects() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for pkg in packages() {
        let listed = Command::new("dpkg")
            .args(["-L", &pkg])
            .output()
            .expect("running dpkg");
        assert!(
            listed.status.success(),
            "package {pkg} is not installed (.ci/run installs tests/coverage-packages.txt): {}",
            String::from_utf8_lossy(&listed.stderr)
        );
        for line in String::from_utf8_lossy(&listed.stdout).lines() {
            let path = PathBuf::from(line);
            if !excluded(&path) && is_shared_object(&path) {
                out.push((pkg.clone(), path));
            }
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out.dedup_by(|a, b| a.1 == b.1);
    out
}
