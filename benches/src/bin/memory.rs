//! Memory taken by 100 loaded copies of the tiny plugin, per loader.
//!
//! Each loader runs in a fresh child process (this binary with the loader's name as
//! argument; dlopen-rs in `dlopen_rs_suite memory`): one load and close first, so
//! first-use allocations are not counted, then the 100 variants are loaded (each
//! with its own `DT_SONAME` and file), `tiny_add` is looked up and called in each,
//! and the growth of RSS (`/proc/self/statm`), PSS and private dirty memory
//! (`/proc/self/smaps_rollup`) and of the mapping count is printed.
//!
//! Run: `cargo run --release --manifest-path benches/Cargo.toml --bin memory`

use std::process::Command;

use staticdl_bench::*;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(loader) = args.get(1) {
        child(loader);
        return;
    }
    let me = std::env::current_exe().expect("current_exe");
    let dlopen_rs = me.with_file_name("dlopen_rs_suite");
    println!("| loader | plugins | RSS growth KiB | PSS growth KiB | private dirty growth KiB | new mappings | RSS KiB per plugin |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut runs: Vec<(String, Command)> = ["staticdl", "glibc", "libloading", "elf_loader"]
        .iter()
        .map(|l| {
            let mut c = Command::new(&me);
            c.arg(l);
            (l.to_string(), c)
        })
        .collect();
    let mut c = Command::new(&dlopen_rs);
    c.arg("memory");
    runs.push(("dlopen-rs".into(), c));
    for (label, mut cmd) in runs {
        match cmd.output() {
            Ok(o) if o.status.success() => {
                let line = String::from_utf8_lossy(&o.stdout);
                let cells: Vec<&str> = line.trim().split('\t').collect();
                println!("| {} |", cells.join(" | "));
            }
            Ok(o) => println!(
                "| {label} | failed: {} |",
                String::from_utf8_lossy(&o.stderr).trim().replace('\n', " ")
            ),
            Err(e) => println!("| {label} | cannot run: {e} |"),
        }
    }
}

fn child(loader: &str) {
    let tiny = plugin("libtiny.so");
    let check = |addr: usize| {
        // SAFETY: `int tiny_add(int, int)`.
        let f: TinyAdd = unsafe { std::mem::transmute(addr) };
        assert_eq!(f(2, 3), 5);
    };
    let report = |before: &MemSnapshot, n: usize| {
        println!("{}", MemSnapshot::now().report(loader, before, n));
    };
    match loader {
        "staticdl" => {
            let opts = ns::options();
            drop(ns::open(&tiny, &opts));
            let before = MemSnapshot::now();
            let libs: Vec<_> = (0..VARIANTS)
                .map(|i| {
                    let lib = ns::open(&variant(i), &opts);
                    check(lib.symbol(TINY_FN).unwrap().as_ptr() as usize);
                    lib
                })
                .collect();
            report(&before, libs.len());
        }
        "glibc" => {
            drop(glibc::Dl::open(&c_path(&tiny)));
            let name = std::ffi::CString::new(TINY_FN).unwrap();
            let before = MemSnapshot::now();
            let libs: Vec<_> = (0..VARIANTS)
                .map(|i| {
                    let dl = glibc::Dl::open(&c_path(&variant(i)));
                    check(dl.sym(&name) as usize);
                    dl
                })
                .collect();
            report(&before, libs.len());
        }
        "libloading" => {
            drop(libloading_peer::open(&tiny));
            let before = MemSnapshot::now();
            let libs: Vec<_> = (0..VARIANTS)
                .map(|i| {
                    let lib = libloading_peer::open(&variant(i));
                    // SAFETY: only turned into an address.
                    let a = unsafe { lib.get::<*mut std::ffi::c_void>(b"tiny_add\0") }.unwrap();
                    check(*a as usize);
                    lib
                })
                .collect();
            report(&before, libs.len());
        }
        "elf_loader" => {
            let host = elf_loader_peer::Host::bare();
            drop(host.open(&tiny));
            let before = MemSnapshot::now();
            let libs: Vec<_> = (0..VARIANTS)
                .map(|i| {
                    let lib = host.open(&variant(i));
                    check(elf_loader_peer::lookup(&lib, TINY_FN));
                    lib
                })
                .collect();
            report(&before, libs.len());
        }
        other => panic!("unknown loader {other}"),
    }
}
