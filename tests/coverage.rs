//! Reach: every regular shared object that a fixed list of Debian 12 runtime
//! library packages installs (`tests/coverage-packages.txt`, installed by
//! `.ci/run`) is opened in the static musl host `tests/fixtures/provider_host`
//! with the provider's default options, constructors running, each in its own
//! process so that one crash cannot hide the others. At least 95% must load;
//! the ratio and every failure with its reason are printed.
//!
//! Owns the choice of objects (`dpkg -L` of each package: regular ELF shared
//! objects, not executables flagged `DF_1_PIE`, not glibc's own libraries nor
//! the sanitizer runtimes) and the verdict. Does not own the loading itself
//! (the host's `open` mode) or the provider's coverage of glibc's names
//! (`tests/glibc_names.rs`).

mod common;

#[path = "support/elf64.rs"]
mod elf64;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The share of objects that must load.
const REQUIRED: f64 = 0.95;

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
fn objects() -> Vec<(String, PathBuf)> {
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

/// Opens `path` in a fresh host process; `Ok(())` or the reason it failed.
fn open_in_child(host: &Path, path: &Path) -> Result<(), String> {
    let out = Command::new(host)
        .arg("open")
        .arg(path)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("running the provider host");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let first = stdout.lines().next().unwrap_or("");
    if out.status.success() && first == "loaded" {
        return Ok(());
    }
    if let Some(reason) = first.strip_prefix("error: ") {
        // The loader names the object first; keep what follows.
        let reason = reason
            .strip_prefix(&format!("{}: ", path.display()))
            .unwrap_or(reason);
        return Err(reason.to_owned());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: String = stderr.lines().rev().take(3).collect::<Vec<_>>().join(" | ");
    Err(format!("host process ended with {} ({tail})", out.status))
}

#[test]
fn debian_libraries_load_in_a_static_host() {
    let host = common::provider_host();
    let objects = objects();
    assert!(
        objects.len() >= 100,
        "only {} shared objects found in the packages",
        objects.len()
    );
    let next = Mutex::new(0usize);
    let results: Mutex<Vec<(usize, Result<(), String>)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| loop {
                let i = {
                    let mut n = next.lock().unwrap();
                    let i = *n;
                    *n += 1;
                    i
                };
                let Some((_, path)) = objects.get(i) else {
                    break;
                };
                let r = open_in_child(&host, path);
                results.lock().unwrap().push((i, r));
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|r| r.0);
    let loaded = results.iter().filter(|r| r.1.is_ok()).count();
    let mut by_package: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (i, r) in &results {
        let e = by_package.entry(&objects[*i].0).or_default();
        e.1 += 1;
        if r.is_ok() {
            e.0 += 1;
        }
    }
    println!("per package (loaded/objects):");
    for (pkg, (ok, all)) in &by_package {
        println!("  {pkg}: {ok}/{all}");
    }
    println!("failures:");
    let mut tls = 0;
    for (i, r) in &results {
        if let Err(reason) = r {
            if reason.contains("thread-local storage") {
                tls += 1;
            }
            println!("  {}: {reason}", objects[*i].1.display());
        }
    }
    let ratio = loaded as f64 / objects.len() as f64;
    println!(
        "coverage: {loaded}/{} objects load ({:.1}%), {tls} of the failures are initial-exec TLS",
        objects.len(),
        ratio * 100.0
    );
    assert!(
        ratio >= REQUIRED,
        "{loaded}/{} objects load ({:.1}%), below {:.0}%",
        objects.len(),
        ratio * 100.0,
        REQUIRED * 100.0
    );
}
