//! The dlopen-rs side of the capability, syscall and memory measurements, in a
//! process of its own (linking dlopen-rs replaces glibc's `dlopen` in a program;
//! see `src/dlopen_rs_peer.rs`).
//!
//! ```text
//! dlopen_rs_suite capabilities          which objects dlopen-rs loads, or its error
//! dlopen_rs_suite cycles <case> <N>     as `syscalls dlopen-rs <case> <N>`
//! dlopen_rs_suite memory                RSS after loading the 100 tiny variants
//! dlopen_rs_suite ratios                staticdl / dlopen-rs, paired, in this process
//! ```

#[path = "../dlopen_rs_peer.rs"]
mod dlopen_rs_peer;

use std::path::PathBuf;

use staticdl_bench::*;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("capabilities") => capabilities(),
        Some("cycles") if args.len() == 4 => cycles(&args[2], args[3].parse().expect("N")),
        Some("memory") => memory(),
        Some("ratios") => ratios(),
        _ => {
            eprintln!("usage: dlopen_rs_suite capabilities | cycles <case> <N> | memory | ratios");
            std::process::exit(2);
        }
    }
}

fn object(case: &str) -> (PathBuf, &'static str) {
    match case {
        "tiny" | "reopen" => (plugin("libtiny.so"), TINY_FN),
        "tiny_libc" => (plugin("libtiny_libc.so"), TINY_FN),
        "lookup" => (plugin("libexports5k.so"), HIT),
        "heavy" => (plugin("libbench_heavy.so"), "heavy_sum"),
        "sqlite" => (PathBuf::from(SQLITE), "sqlite3_libversion"),
        other => panic!("unknown case {other}"),
    }
}

fn capabilities() {
    for (what, case) in [
        ("tiny (-nostdlib)", "tiny"),
        ("tiny (glibc build)", "tiny_libc"),
        ("5,000 exports", "lookup"),
        ("heavy + 2 deps", "heavy"),
        ("libsqlite3.so.0", "sqlite"),
    ] {
        let (path, sym) = object(case);
        let r = dlopen_rs_peer::try_open(&path).and_then(|lib| {
            // SAFETY: only turned into an address.
            let a = unsafe { lib.get::<*mut std::ffi::c_void>(sym) }
                .map(|s| *s as usize)
                .map_err(|e| e.to_string())?;
            if sym == TINY_FN {
                // SAFETY: `int tiny_add(int, int)`.
                let f: TinyAdd = unsafe { std::mem::transmute(a) };
                if f(2, 3) != 5 {
                    return Err("tiny_add(2, 3) != 5".into());
                }
            }
            Ok(())
        });
        let r = r.map(|()| {
            if is_mapped(&path) {
                "ok; **still mapped after the last handle is dropped**".to_string()
            } else {
                "ok".to_string()
            }
        });
        println!("| {what} | dlopen-rs | {} |", r.unwrap_or_else(|e| e));
    }
}

fn cycles(case: &str, n: usize) {
    let (path, sym) = object(case);
    let held = (case == "reopen").then(|| dlopen_rs_peer::open(&path));
    // As `syscalls`: libm.so.6 stays loaded throughout for the SQLite case.
    let _libm = (case == "sqlite")
        .then(|| dlopen_rs_peer::try_open(std::path::Path::new("/lib/x86_64-linux-gnu/libm.so.6")));
    let cycle = || {
        let a = dlopen_rs_peer::open_lookup_close(&path, sym);
        assert!(a != 0);
    };
    cycle();
    strace_marker("staticdl-bench:begin");
    for _ in 0..n {
        cycle();
    }
    strace_marker("staticdl-bench:end");
    drop(held);
}

fn memory() {
    // Warm-up: one load and close, so first-use allocations are not counted.
    drop(dlopen_rs_peer::open(&plugin("libtiny.so")));
    let before = MemSnapshot::now();
    let libs: Vec<_> = (0..VARIANTS)
        .map(|i| {
            let lib = dlopen_rs_peer::open(&variant(i));
            // SAFETY: `int tiny_add(int, int)`.
            let f = unsafe { lib.get::<TinyAdd>(TINY_FN) }.expect("tiny_add");
            assert_eq!(f(2, 3), 5);
            drop(f);
            lib
        })
        .collect();
    println!(
        "{}",
        MemSnapshot::now().report("dlopen-rs", &before, libs.len())
    );
}

/// staticdl against dlopen-rs, paired (see `staticdl_bench::paired`). The cases
/// that need glibc's `dlopen` on staticdl's side (its host-glibc provider) are not
/// here: in this process that `dlopen` is dlopen-rs's.
fn ratios() {
    use staticdl_bench::paired::{compare, row};
    use std::hint::black_box;
    let opts = ns::options();
    let tiny = plugin("libtiny.so");
    let r = compare(
        || {
            black_box(ns::open_lookup_close(black_box(&tiny), &opts, TINY_FN));
        },
        || {
            black_box(dlopen_rs_peer::open_lookup_close(black_box(&tiny), TINY_FN));
        },
    );
    println!(
        "{}",
        row("tiny open+lookup+close", "staticdl", "dlopen-rs", &r, None)
    );

    let p5k = plugin("libexports5k.so");
    let s5k = ns::open(&p5k, &opts);
    let d5k = dlopen_rs_peer::open(&p5k);
    for (what, s) in [("hit", HIT), ("miss", MISS)] {
        let r = compare(
            || {
                black_box(s5k.symbol(black_box(s)));
            },
            || {
                // SAFETY: only turned into an address.
                black_box(
                    unsafe { d5k.get::<*mut std::ffi::c_void>(black_box(s)) }
                        .ok()
                        .map(|s| *s as usize),
                );
            },
        );
        println!(
            "{}",
            row(
                &format!("lookup {what}, 5,000 exports"),
                "staticdl symbol(&str)",
                "dlopen-rs get",
                &r,
                None
            )
        );
    }
    drop((s5k, d5k));

    {
        let _a = ns::open(&tiny, &opts);
        let _b = dlopen_rs_peer::open(&tiny);
        let r = compare(
            || {
                black_box(ns::open(black_box(&tiny), &opts));
            },
            || {
                black_box(dlopen_rs_peer::open(black_box(&tiny)));
            },
        );
        println!(
            "{}",
            row("re-open", "staticdl Namespace::load", "dlopen-rs", &r, None)
        );
    }

    let heavy = plugin("libbench_heavy.so");
    let r = compare(
        || {
            black_box(ns::open_lookup_close(black_box(&heavy), &opts, "heavy_sum"));
        },
        || {
            black_box(dlopen_rs_peer::open_lookup_close(
                black_box(&heavy),
                "heavy_sum",
            ));
        },
    );
    println!(
        "{}",
        row(
            "heavy open+close (22,002 relocs, 2 deps)",
            "staticdl",
            "dlopen-rs",
            &r,
            None
        )
    );

    let lib = ns::open(&tiny, &opts);
    // SAFETY: `int tiny_add(int, int)`.
    let f: TinyAdd = unsafe { std::mem::transmute(lib.symbol(TINY_FN).unwrap().as_ptr()) };
    let dl = dlopen_rs_peer::open(&tiny);
    // SAFETY: as above.
    let g = unsafe { dl.get::<TinyAdd>(TINY_FN) }.unwrap();
    let r = compare(
        || {
            black_box(f(black_box(2), black_box(3)));
        },
        || {
            black_box(g(black_box(2), black_box(3)));
        },
    );
    println!(
        "{}",
        row(
            "call tiny_add",
            "staticdl fn pointer",
            "dlopen-rs Symbol",
            &r,
            None
        )
    );
}
