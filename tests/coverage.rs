//! Reach: every regular shared object that a fixed list of Debian 12 runtime
//! library packages installs (`tests/coverage-packages.txt`, installed by
//! `.ci/run`) is opened in the static musl host `tests/fixtures/provider_host`
//! with the provider's default options, constructors running, each in its own
//! process so that one crash cannot hide the others. At least 95% must load;
//! the ratio and every failure with its reason are printed.
//!
//! Owns the verdict. Does not own the choice of objects
//! (`tests/support/coverage_set.rs`: `dpkg -L` of each package, regular ELF
//! shared objects, not executables flagged `DF_1_PIE`, not glibc's own
//! libraries nor the sanitizer runtimes), the loading itself (the host's `open`
//! mode) or the provider's coverage of glibc's names (`tests/glibc_names.rs`).

mod common;

#[path = "support/coverage_set.rs"]
mod coverage_set;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

/// The share of objects that must load.
const REQUIRED: f64 = 0.95;

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
    let objects = coverage_set::objects();
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
