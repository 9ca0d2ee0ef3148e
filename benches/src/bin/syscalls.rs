//! N open (+ lookup) + close cycles of one object with one loader, between two
//! markers that `strace` shows, so the syscalls of exactly those cycles can be
//! counted and divided by N.
//!
//! The markers are `write(-1, "staticdl-bench:begin", ...)` and `...:end`, which fail
//! with `EBADF` and do nothing else. One cycle runs before the first marker, so
//! one-time work (a loader's first allocation, a cache read) is not counted.
//!
//! ```text
//! syscalls <loader> <case> <cycles>
//!   loader: staticdl | staticdl_reuse (closed objects' reservations kept) | staticdl_facade | staticdl_provider | glibc | libloading | elf_loader | replay_staticdl | replay_glibc
//!   case:   tiny | tiny_libc | heavy | reopen | sqlite
//! ```
//! `reopen` opens the tiny plugin while a handle to it is held (the re-open path).
//! `benches/syscalls.sh` runs this under `strace` for every pair and prints the table.
//! dlopen-rs has its own binary (`dlopen_rs_suite`), see `src/dlopen_rs_peer.rs`.

use std::path::PathBuf;

use staticdl_bench::*;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: syscalls <staticdl|staticdl_reuse|staticdl_facade|staticdl_provider|glibc|libloading|elf_loader|replay_staticdl|replay_glibc> <tiny|tiny_libc|heavy|reopen|sqlite> <cycles>");
        std::process::exit(2);
    }
    let (loader, case) = (args[1].as_str(), args[2].as_str());
    let n: usize = args[3].parse().expect("cycles");
    let (path, sym): (PathBuf, &str) = match case {
        "tiny" | "reopen" => (plugin("libtiny.so"), TINY_FN),
        "tiny_libc" => (plugin("libtiny_libc.so"), TINY_FN),
        "heavy" => (plugin("libbench_heavy.so"), "heavy_sum"),
        "sqlite" => (PathBuf::from(SQLITE), "sqlite3_libversion"),
        other => panic!("unknown case {other}"),
    };
    let reopen = case == "reopen";
    // SQLite needs libm.so.6: held open by glibc throughout, for every loader, so
    // no loader pays for loading it (staticdl's glibc provider holds it anyway).
    let _libm = (case == "sqlite").then(|| glibc::Dl::open(c"libm.so.6"));
    let mut cycle: Box<dyn FnMut()> = match loader {
        "staticdl" | "staticdl_reuse" => {
            // The glibc-built objects get the host's glibc (bench-local provider).
            let opts = if matches!(case, "tiny_libc" | "sqlite") {
                ns::options_with_host_glibc()
            } else {
                ns::options()
            }
            .reuse_mappings(loader == "staticdl_reuse");
            let held = reopen.then(|| ns::open(&path, &opts));
            Box::new(move || {
                let a = ns::open_lookup_close(&path, &opts, sym);
                assert!(a != 0 && (held.is_some() || !reopen));
            })
        }
        #[cfg(feature = "facade")]
        "staticdl_provider" => {
            let opts = facade::provider_options();
            Box::new(move || {
                let a = facade::provider_open_lookup_close(&path, &opts, sym)
                    .expect("staticdl provider");
                assert!(a != 0);
            })
        }
        #[cfg(feature = "facade")]
        "staticdl_facade" => {
            let opts = facade::options();
            let held = reopen.then(|| facade::open(&path, &opts));
            Box::new(move || {
                let a = facade::open_lookup_close(&path, &opts, sym);
                assert!(a != 0 && (held.is_some() || !reopen));
            })
        }
        "glibc" => {
            let c = c_path(&path);
            let name = std::ffi::CString::new(sym).unwrap();
            let held = reopen.then(|| glibc::Dl::open(&c));
            Box::new(move || {
                let a = glibc::open_lookup_close(&c, &name);
                assert!(a != 0 && (held.is_some() || !reopen));
            })
        }
        "libloading" => {
            let name = format!("{sym}\0");
            let held = reopen.then(|| libloading_peer::open(&path));
            Box::new(move || {
                let a = libloading_peer::open_lookup_close(&path, name.as_bytes());
                assert!(a != 0 && (held.is_some() || !reopen));
            })
        }
        "elf_loader" => elf_loader_cycle(path, sym, case),
        "replay_staticdl" => {
            let plan = replay::Plan::new(&path);
            Box::new(move || plan.staticdl())
        }
        "replay_glibc" => {
            let plan = replay::Plan::new(&path);
            Box::new(move || plan.glibc())
        }
        other => panic!("unknown loader {other}"),
    };
    cycle();
    strace_marker("staticdl-bench:begin");
    for _ in 0..n {
        cycle();
    }
    strace_marker("staticdl-bench:end");
}

fn elf_loader_cycle(path: PathBuf, sym: &'static str, case: &str) -> Box<dyn FnMut()> {
    let host = if matches!(case, "tiny_libc" | "sqlite") {
        elf_loader_peer::Host::with_glibc().expect("host glibc for elf_loader")
    } else {
        elf_loader_peer::Host::bare()
    };
    match case {
        // One object: the low-level Loader + Relocator.
        "tiny" | "tiny_libc" => Box::new(move || {
            let lib = host.open(&path);
            assert!(elf_loader_peer::lookup(&lib, sym) != 0);
        }),
        // Dependencies to find, or a re-open: the Linker in one context.
        _ => {
            let linker = elf_loader_peer::linker();
            let mut ctx = host.context();
            let held = (case == "reopen")
                .then(|| elf_loader_peer::link(&linker, &mut ctx, &path).expect("elf_loader"));
            let mut held = held;
            Box::new(move || {
                let l = elf_loader_peer::link(&linker, &mut ctx, &path).expect("elf_loader");
                assert!(elf_loader_peer::link_lookup(&ctx, &l, sym) != 0);
                drop(l.release(&mut ctx).expect("release"));
                let _ = &mut held;
            })
        }
    }
}
