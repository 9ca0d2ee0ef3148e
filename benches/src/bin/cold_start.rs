//! Cold start as a user feels it: a fresh process that starts, loads the three
//! example plugins and exits, staticdl in a static musl host against glibc's
//! `dlopen` in an ordinary dynamic host.
//!
//! ```text
//! cold_start staticdl DIR          open every DIR/*.so with Plugin::open (descriptor
//!                                  checked, init run), exit (the static musl build)
//! cold_start glibc DIR             dlopen every DIR/*.so, dlsym STATICDL_PLUGIN, exit
//! cold_start compare STATIC DIR N  run `STATIC staticdl DIR` and `<self> glibc DIR`
//!                                  alternately N times each; print whole-process
//!                                  medians and the median of the paired ratios
//! ```
//! `benches/cold_start.sh` builds both and runs the comparison.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn plugins(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "so"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no plugins in {}", dir.display());
    v
}

#[cfg(feature = "facade")]
fn staticdl(dir: &Path) {
    // As the example server opens them: the memory primitives `#![no_std]`
    // plugins import answered from the host's C library (the provider's table).
    let opts = staticdl::OpenOptions::new()
        .system_dirs(false)
        .host_symbols(|name: &[u8], _: Option<&[u8]>| {
            matches!(&name[..], b"memcpy" | b"memmove" | b"memset" | b"memcmp" | b"bcmp" | b"strlen")
                .then(|| staticdl::provider::symbol(name, None))
                .flatten()
        });
    let opened: Vec<staticdl::Plugin> = plugins(dir)
        .iter()
        .map(|p| opts.open(p).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    assert!(opened.iter().all(|p| p.descriptor().is_some()));
}

#[cfg(not(feature = "facade"))]
fn staticdl(_: &Path) {
    panic!("built without the facade");
}

#[cfg(target_env = "gnu")]
fn glibc(dir: &Path) {
    use std::os::unix::ffi::OsStrExt;
    for p in plugins(dir) {
        let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
        // SAFETY: a NUL-terminated path; the example plugins' constructors are benign.
        let h = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        assert!(!h.is_null(), "dlopen {}", p.display());
        // SAFETY: a live handle and a NUL-terminated name.
        let d = unsafe { libc::dlsym(h, c"STATICDL_PLUGIN".as_ptr()) };
        assert!(!d.is_null(), "{} has no descriptor", p.display());
    }
}

#[cfg(not(target_env = "gnu"))]
fn glibc(_: &Path) {
    panic!("the glibc side is the dynamic glibc build");
}

fn run(cmd: &mut Command) -> f64 {
    let t = Instant::now();
    let status = cmd.status().expect("spawn");
    let dt = t.elapsed().as_secs_f64() * 1e3;
    assert!(status.success(), "{cmd:?} failed");
    dt
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn compare(static_bin: &Path, dir: &Path, n: usize) {
    let me = std::env::current_exe().unwrap();
    let (mut a, mut b, mut r) = (Vec::new(), Vec::new(), Vec::new());
    // One warm-up run each (page cache, first exec).
    run(Command::new(static_bin).arg("staticdl").arg(dir));
    run(Command::new(&me).arg("glibc").arg(dir));
    for i in 0..n {
        let (x, y) = if i % 2 == 0 {
            let x = run(Command::new(static_bin).arg("staticdl").arg(dir));
            (x, run(Command::new(&me).arg("glibc").arg(dir)))
        } else {
            let y = run(Command::new(&me).arg("glibc").arg(dir));
            (run(Command::new(static_bin).arg("staticdl").arg(dir)), y)
        };
        a.push(x);
        b.push(y);
        r.push(x / y);
    }
    let (ma, mb, mr) = (median(&mut a), median(&mut b), median(&mut r));
    let (p10, p90) = (r[n / 10], r[n - 1 - n / 10]);
    println!("| case | staticdl side (a) | compared with (b) | a, median | b, median | a / b, median of pairs (p10–p90) |");
    println!("| --- | --- | --- | ---: | ---: | ---: |");
    println!(
        "| cold start: exec, open the {} example plugins, exit ({n} runs each) | static musl host, Plugin::open | glibc host, dlopen + dlsym | {ma:.2} ms | {mb:.2} ms | {mr:.2} ({p10:.2}–{p90:.2}) |",
        plugins(dir).len()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match (args.get(1).map(String::as_str), args.len()) {
        (Some("staticdl"), 3) => staticdl(Path::new(&args[2])),
        (Some("glibc"), 3) => glibc(Path::new(&args[2])),
        (Some("compare"), 5) => compare(
            Path::new(&args[2]),
            Path::new(&args[3]),
            args[4].parse().expect("runs"),
        ),
        _ => {
            eprintln!("usage: cold_start staticdl DIR | glibc DIR | compare STATIC_BIN DIR N");
            std::process::exit(2);
        }
    }
}
