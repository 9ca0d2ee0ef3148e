//! Coverage of glibc's names as a property of the provider: the table of the
//! static musl host (`provider_host names`) is compared with the symbols that
//! glibc 2.36's own libraries export (`readelf --dyn-syms` of `libc.so.6`,
//! `libm.so.6`, `libresolv.so.2` and `libgcc_s.so.1`, with their versions)
//! and with what musl's `libc.a` (the one the host links) defines, so the
//! next missing name is found here rather than by a user:
//!
//! - every public glibc name that musl also defines is answered by the table
//!   or refused on purpose, with a reason (`staticdl_libc::not_provided`);
//! - every `libgcc_s.so.1` export, and every fortified `__*_chk` entry point
//!   of glibc, is answered or refused with a reason;
//! - a glibc name `X64` is answered wherever its plain `X` is (the LFS names);
//! - every name the table answers exists in glibc 2.36 (or is on the short
//!   list of later glibc names below);
//! - no name is answered by a musl function that is a stub (`xor eax, eax;
//!   ret` or `ret`) unless doing nothing is that function's whole job;
//! - every refused name is one glibc really exports.
//!
//! Owns these comparisons; the table itself is `libc/src/table`, the refusals
//! `libc/src/excluded.rs`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const GLIBC_DIR: &str = "/lib/x86_64-linux-gnu";

/// Answered names that glibc 2.36 does not export, and why they are answered.
const LATER_NAMES: &[(&str, &str)] = &[
    (
        "atexit",
        "glibc links it into each object from libc_nonshared.a; objects built without it import it",
    ),
    ("strlcat", "glibc 2.38; a musl host has it"),
    ("strlcpy", "glibc 2.38; a musl host has it"),
];

/// glibc 2.38's C23 names (`__isoc23_strtol`, ...), answered ahead of time.
const LATER_PREFIXES: &[&str] = &["__isoc23_"];

/// musl functions (by their own name) that are `ret` or `return 0` and are
/// right to be: there is nothing to do, and glibc does nothing either (beyond
/// returning 0).
const TRIVIAL: &[&str] = &[
    "grantpt", // Linux ptys need no granting: glibc's only checks the descriptor
    "posix_spawnattr_destroy",
    "pthread_attr_destroy",
    "pthread_mutexattr_destroy",
    "pthread_condattr_destroy",
    "pthread_rwlock_destroy",
    "pthread_rwlockattr_destroy",
    "pthread_spin_destroy",
    "pthread_barrierattr_destroy",
    "sem_destroy",
    "mtx_destroy",
    "cnd_destroy",
    "res_init", // the host's resolver reads resolv.conf for every query
    "creal",    // the real part is already in the result register
    // the host's gethostbyname/getservbyname open and close their files on
    // each call: there is nothing to keep open or to close
    "sethostent",
    "endhostent",
    "setservent",
    "endservent",
];

/// `name -> versions` exported (defined) by one of glibc's libraries.
fn glibc_exports(lib: &str) -> BTreeMap<String, Vec<String>> {
    let path = Path::new(GLIBC_DIR).join(lib);
    let text = common::readelf("--dyn-syms", &path);
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 8 || !f[0].ends_with(':') || f[6] == "UND" {
            continue;
        }
        if !matches!(f[3], "FUNC" | "OBJECT" | "IFUNC" | "TLS" | "NOTYPE") {
            continue;
        }
        let Some((name, version)) = f[7].split_once('@') else {
            continue;
        };
        out.entry(name.to_owned())
            .or_default()
            .push(version.trim_start_matches('@').to_owned());
    }
    assert!(out.len() > 10, "no symbols read from {}", path.display());
    out
}

/// The musl `libc.a` the static host links.
fn musl_libc() -> PathBuf {
    let out = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .args(["--print", "sysroot"])
        .output()
        .expect("running rustc");
    let sysroot = String::from_utf8(out.stdout).unwrap();
    let rust = Path::new(sysroot.trim())
        .join("lib/rustlib/x86_64-unknown-linux-musl/lib/self-contained/libc.a");
    if rust.is_file() {
        return rust;
    }
    let debian = PathBuf::from("/usr/lib/musl/lib/libc.a");
    assert!(
        debian.is_file(),
        "no musl libc.a ({} nor {})",
        rust.display(),
        debian.display()
    );
    debian
}

/// musl's defined global names, with the size of each function.
fn musl_definitions() -> BTreeMap<String, Option<u64>> {
    let lib = musl_libc();
    let out = Command::new("nm")
        .args(["-S", "--defined-only", "-g"])
        .arg(&lib)
        .output()
        .expect("running nm");
    assert!(out.status.success(), "nm {}", lib.display());
    let mut defs = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (kind, name, size) = match f.len() {
            4 => (f[2], f[3], u64::from_str_radix(f[1], 16).ok()),
            3 => (f[1], f[2], None),
            _ => continue,
        };
        if "TWDBRVi".contains(kind) {
            let size = if matches!(kind, "T" | "W") {
                size
            } else {
                None
            };
            defs.insert(name.to_owned(), size);
        }
    }
    assert!(defs.len() > 1000, "few symbols read from {}", lib.display());
    defs
}

/// The static host's table (`name -> host symbol`) and refusals.
fn host_table() -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let host = common::provider_host();
    let out = Command::new(&host)
        .arg("names")
        .arg(common::fixture_dir())
        .output()
        .unwrap();
    assert!(out.status.success(), "provider host names: {}", out.status);
    let (mut table, mut refused) = (BTreeMap::new(), BTreeMap::new());
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        if line == "done" {
            continue;
        }
        let (name, rest) = line.split_once('\t').expect("name<TAB>value");
        match name.strip_prefix('!') {
            Some(n) => refused.insert(n.to_owned(), rest.to_owned()),
            None => table.insert(name.to_owned(), rest.to_owned()),
        };
    }
    (table, refused)
}

fn report(what: &str, names: &BTreeSet<String>) -> Option<String> {
    (!names.is_empty()).then(|| {
        format!(
            "{what} ({}):\n  {}",
            names.len(),
            names.iter().cloned().collect::<Vec<_>>().join(" ")
        )
    })
}

#[test]
fn every_glibc_name_the_host_has_is_answered_or_refused_with_a_reason() {
    let mut glibc: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for lib in ["libc.so.6", "libm.so.6", "libresolv.so.2"] {
        for (n, v) in glibc_exports(lib) {
            glibc.entry(n).or_default().extend(v);
        }
    }
    let libgcc = glibc_exports("libgcc_s.so.1");
    let ld = glibc_exports("ld-linux-x86-64.so.2");
    let public: BTreeSet<&String> = glibc
        .iter()
        .filter(|(_, v)| v.iter().any(|v| v != "GLIBC_PRIVATE"))
        .map(|(n, _)| n)
        .collect();
    let musl = musl_definitions();
    let (table, refused) = host_table();
    assert!(table.len() > 1500, "the table has {} names", table.len());
    let answered = |n: &str| table.contains_key(n) || refused.contains_key(n);

    let mut problems = Vec::new();
    let missing: BTreeSet<String> = public
        .iter()
        .filter(|n| musl.contains_key(n.as_str()) && !answered(n))
        .map(|n| n.to_string())
        .collect();
    problems.extend(report(
        "glibc 2.36 and musl both define these, but the provider neither answers \
         them nor refuses them with a reason (libc/src/excluded.rs)",
        &missing,
    ));

    let gcc_missing: BTreeSet<String> = libgcc
        .keys()
        .filter(|n| !n.starts_with("GCC_") && !answered(n))
        .cloned()
        .collect();
    problems.extend(report(
        "libgcc_s.so.1 exports these; the provider neither answers nor refuses them",
        &gcc_missing,
    ));

    let fortified: BTreeSet<String> = public
        .iter()
        .filter(|n| n.starts_with("__") && n.ends_with("_chk") && !answered(n))
        .map(|n| n.to_string())
        .collect();
    problems.extend(report(
        "glibc's fortified entry points (a -D_FORTIFY_SOURCE build imports them) \
         neither answered nor refused",
        &fortified,
    ));

    let lfs: BTreeSet<String> = public
        .iter()
        .filter(|n| {
            n.strip_suffix("64")
                .is_some_and(|stem| table.contains_key(stem) && !answered(n))
        })
        .map(|n| n.to_string())
        .collect();
    problems.extend(report(
        "these glibc names are X64 forms of answered names X, but not answered",
        &lfs,
    ));

    let unknown: BTreeSet<String> = table
        .keys()
        .filter(|n| {
            !glibc.contains_key(*n)
                && !libgcc.contains_key(*n)
                && !ld.contains_key(*n)
                && !LATER_NAMES.iter().any(|(l, _)| l == n)
                && !LATER_PREFIXES.iter().any(|p| n.starts_with(p))
        })
        .cloned()
        .collect();
    problems.extend(report(
        "the table answers names glibc 2.36 does not export",
        &unknown,
    ));

    let stubs: BTreeSet<String> = table
        .iter()
        .filter(|(_, host)| {
            !TRIVIAL.contains(&host.as_str())
                && musl
                    .get(host.as_str())
                    .copied()
                    .flatten()
                    .is_some_and(|size| size <= 3)
        })
        .map(|(n, host)| format!("{n}={host}"))
        .collect();
    problems.extend(report(
        "these names are answered by musl functions that do nothing (a stub that \
         returns 0 hides a missing feature: refuse them, or shim them)",
        &stubs,
    ));

    let stale: BTreeSet<String> = refused
        .keys()
        .filter(|n| !glibc.contains_key(*n) && !libgcc.contains_key(*n))
        .cloned()
        .collect();
    problems.extend(report("refused names that glibc does not export", &stale));
    let both: BTreeSet<String> = refused
        .keys()
        .filter(|n| table.contains_key(*n))
        .cloned()
        .collect();
    problems.extend(report("names both answered and refused", &both));
    let unreasoned: BTreeSet<String> = refused
        .iter()
        .filter(|(_, reason)| reason.len() < 20)
        .map(|(n, _)| n.clone())
        .collect();
    problems.extend(report("refused names without a reason", &unreasoned));

    let shared = public
        .iter()
        .filter(|n| musl.contains_key(n.as_str()))
        .count();
    println!(
        "glibc 2.36 public names: {}; also defined by musl: {shared}; table: {}; refused: {}",
        public.len(),
        table.len(),
        refused.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
