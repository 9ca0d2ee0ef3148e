//! staticdl against glibc's `dlopen`, libloading and elf_loader, in one process.
//!
//! Groups (the numbers are the cases of `BENCHMARKS.md`):
//! 1. `tiny` / `tiny_libc`: open + lookup + close of the one-function plugin,
//!    freestanding and built against glibc.
//! 2. `lookup`: one lookup, hit and miss, in a library of 5,000 exports.
//! 3. `reopen`: opening an object that is already open (and dropping that handle).
//! 4. `heavy` / `sqlite`: open + close of a relocation-heavy object with
//!    dependencies, and of Debian's SQLite when installed.
//! 5. `call`: one call of `tiny_add` through each loader's symbol type.
//! 8. `replay`: staticdl's and glibc's syscall sequences for the tiny plugin alone.
//!
//! dlopen-rs is measured by `benches/load_dlopen_rs.rs`: linking it here would put
//! it in place of glibc's `dlopen` (see `src/dlopen_rs_peer.rs`).
//!
//! Run: `cargo bench --manifest-path benches/Cargo.toml`

use std::ffi::CString;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use staticdl_bench::*;
use staticdl_loader::SymbolName;

const HIT_NAME: SymbolName<'static> = SymbolName::new(HIT);
const MISS_NAME: SymbolName<'static> = SymbolName::new(MISS);

fn cstr(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// Case 1: open + lookup + close of the freestanding tiny plugin.
fn tiny(c: &mut Criterion) {
    let path = plugin("libtiny.so");
    let cpath = c_path(&path);
    let name = cstr(TINY_FN);
    let opts = ns::options();
    let mut g = c.benchmark_group("tiny");
    g.bench_function("staticdl", |b| {
        b.iter(|| ns::open_lookup_close(black_box(&path), &opts, TINY_FN))
    });
    #[cfg(feature = "facade")]
    {
        let fopts = facade::options();
        g.bench_function("staticdl_facade", |b| {
            b.iter(|| facade::open_lookup_close(black_box(&path), &fopts, TINY_FN))
        });
    }
    g.bench_function("glibc", |b| {
        b.iter(|| glibc::open_lookup_close(black_box(&cpath), &name))
    });
    g.bench_function("libloading", |b| {
        b.iter(|| libloading_peer::open_lookup_close(black_box(&path), b"tiny_add\0"))
    });
    let host = elf_loader_peer::Host::bare();
    g.bench_function("elf_loader", |b| {
        b.iter(|| {
            let lib = host.open(black_box(&path));
            elf_loader_peer::lookup(&lib, TINY_FN)
        })
    });
    g.finish();
}

/// Case 1b: the tiny plugin built against glibc (`DT_NEEDED libc.so.6`).
fn tiny_libc(c: &mut Criterion) {
    let path = plugin("libtiny_libc.so");
    let cpath = c_path(&path);
    let name = cstr(TINY_FN);
    let opts = ns::options_with_host_glibc();
    let mut g = c.benchmark_group("tiny_libc");
    g.bench_function("staticdl+host_glibc", |b| {
        b.iter(|| ns::open_lookup_close(black_box(&path), &opts, TINY_FN))
    });
    #[cfg(feature = "facade")]
    provider_case(&mut g, &path, TINY_FN);
    g.bench_function("glibc", |b| {
        b.iter(|| glibc::open_lookup_close(black_box(&cpath), &name))
    });
    g.bench_function("libloading", |b| {
        b.iter(|| libloading_peer::open_lookup_close(black_box(&path), b"tiny_add\0"))
    });
    match elf_loader_peer::Host::with_glibc() {
        Ok(host) => {
            g.bench_function("elf_loader+host_libc", |b| {
                b.iter(|| {
                    let lib = host.open(black_box(&path));
                    elf_loader_peer::lookup(&lib, TINY_FN)
                })
            });
        }
        Err(e) => eprintln!("skip tiny_libc/elf_loader: {e}"),
    }
    g.finish();
}

/// Case 2: one lookup in a library of 5,000 exports, hit and miss.
fn lookup(c: &mut Criterion) {
    let path = plugin("libexports5k.so");
    let sd = ns::open(&path, &ns::options());
    let dl = glibc::Dl::open(&c_path(&path));
    let ll = libloading_peer::open(&path);
    let el = elf_loader_peer::Host::bare().open(&path);
    let (hit, miss) = (cstr(HIT), cstr(MISS));
    let (hit0, miss0) = (format!("{HIT}\0"), format!("{MISS}\0"));
    assert!(sd.symbol(HIT).is_some() && sd.symbol(MISS).is_none());
    assert!(!dl.sym(&hit).is_null() && dl.sym(&miss).is_null());

    let mut g = c.benchmark_group("lookup");
    for (what, s, k, cs, b0) in [
        ("hit", HIT, &HIT_NAME, &hit, hit0.as_bytes()),
        ("miss", MISS, &MISS_NAME, &miss, miss0.as_bytes()),
    ] {
        g.bench_function(BenchmarkId::new("staticdl_symbol_str", what), |b| {
            b.iter(|| sd.symbol(black_box(s)))
        });
        g.bench_function(BenchmarkId::new("staticdl_lookup_here_const", what), |b| {
            b.iter(|| sd.lookup_here(black_box(k)))
        });
        g.bench_function(BenchmarkId::new("glibc_dlsym", what), |b| {
            b.iter(|| dl.sym(black_box(cs)))
        });
        g.bench_function(BenchmarkId::new("libloading_get", what), |b| {
            // SAFETY: only turned into an address.
            b.iter(|| {
                unsafe { ll.get::<*mut std::ffi::c_void>(black_box(b0)) }
                    .map(|s| *s as usize)
                    .ok()
            })
        });
        g.bench_function(BenchmarkId::new("elf_loader_get", what), |b| {
            b.iter(|| elf_loader_peer::lookup(&el, black_box(s)))
        });
    }
    g.finish();
}

/// Case 3: opening an object already open (a handle is held throughout).
fn reopen(c: &mut Criterion) {
    let path = plugin("libtiny.so");
    let cpath = c_path(&path);
    let opts = ns::options();
    let _sd = ns::open(&path, &opts);
    let _dl = glibc::Dl::open(&cpath);
    let mut g = c.benchmark_group("reopen");
    g.bench_function("staticdl_namespace", |b| {
        b.iter(|| ns::open(black_box(&path), &opts))
    });
    #[cfg(feature = "facade")]
    facade_reopen(&mut g, &path);
    g.bench_function("glibc", |b| b.iter(|| glibc::Dl::open(black_box(&cpath))));
    g.bench_function("libloading", |b| {
        b.iter(|| libloading_peer::open(black_box(&path)))
    });
    let host = elf_loader_peer::Host::bare();
    let linker = elf_loader_peer::linker();
    let mut ctx = host.context();
    let held = elf_loader_peer::link(&linker, &mut ctx, &path).expect("elf_loader");
    g.bench_function("elf_loader_linker", |b| {
        b.iter(|| {
            let l = elf_loader_peer::link(&linker, &mut ctx, black_box(&path)).unwrap();
            drop(l.release(&mut ctx).unwrap());
        })
    });
    drop(held.release(&mut ctx));
    g.finish();
}

/// The facade's registry hit: `Plugin::open` of a path already open.
#[cfg(feature = "facade")]
fn facade_reopen(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    path: &std::path::Path,
) {
    let opts = facade::options();
    let held = facade::open(path, &opts);
    g.bench_function("staticdl_facade_registry", |b| {
        b.iter(|| opts.open(black_box(path)).unwrap())
    });
    drop(held);
}

/// An object built against glibc, with staticdl's own C library provider.
#[cfg(feature = "facade")]
fn provider_case(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    path: &std::path::Path,
    name: &'static str,
) {
    let opts = facade::provider_options();
    match facade::provider_open_lookup_close(path, &opts, name) {
        Ok(_) => {
            g.bench_function("staticdl+provider", |b| {
                b.iter(|| facade::provider_open_lookup_close(black_box(path), &opts, name))
            });
        }
        Err(e) => eprintln!("skip staticdl+provider on {}: {e}", path.display()),
    }
}

/// Case 4: open + close of the relocation-heavy library (and its two deps).
fn heavy(c: &mut Criterion) {
    let path = plugin("libbench_heavy.so");
    let cpath = c_path(&path);
    let opts = ns::options();
    let name = cstr("heavy_sum");
    let mut g = c.benchmark_group("heavy");
    g.bench_function("staticdl", |b| {
        b.iter(|| ns::open_lookup_close(black_box(&path), &opts, "heavy_sum"))
    });
    g.bench_function("glibc", |b| {
        b.iter(|| glibc::open_lookup_close(black_box(&cpath), &name))
    });
    g.bench_function("libloading", |b| {
        b.iter(|| libloading_peer::open_lookup_close(black_box(&path), b"heavy_sum\0"))
    });
    let host = elf_loader_peer::Host::bare();
    let linker = elf_loader_peer::linker();
    let mut ctx = host.context();
    g.bench_function("elf_loader_linker", |b| {
        b.iter(|| {
            let l = elf_loader_peer::link(&linker, &mut ctx, black_box(&path)).unwrap();
            let a = elf_loader_peer::link_lookup(&ctx, &l, "heavy_sum");
            drop(l.release(&mut ctx).unwrap());
            a
        })
    });
    g.finish();
}

/// Case 4b: Debian's libsqlite3 (needs libc.so.6 and libm.so.6). `libm.so.6` is
/// held open by glibc throughout, so no loader pays for loading it.
fn sqlite(c: &mut Criterion) {
    let path = std::path::PathBuf::from(SQLITE);
    if !path.exists() {
        eprintln!("skip sqlite: {SQLITE} not installed");
        return;
    }
    let _libm = glibc::Dl::open(&cstr("libm.so.6"));
    let cpath = c_path(&path);
    let name = cstr("sqlite3_libversion");
    let mut g = c.benchmark_group("sqlite");
    g.bench_function("glibc", |b| {
        b.iter(|| glibc::open_lookup_close(black_box(&cpath), &name))
    });
    g.bench_function("libloading", |b| {
        b.iter(|| libloading_peer::open_lookup_close(black_box(&path), b"sqlite3_libversion\0"))
    });
    let opts = ns::options_with_host_glibc();
    g.bench_function("staticdl+host_glibc", |b| {
        b.iter(|| ns::open_lookup_close(black_box(&path), &opts, "sqlite3_libversion"))
    });
    #[cfg(feature = "facade")]
    provider_case(&mut g, &path, "sqlite3_libversion");
    match elf_loader_peer::Host::with_glibc() {
        Ok(host) => {
            let linker = elf_loader_peer::linker();
            let mut ctx = host.context();
            g.bench_function("elf_loader_linker+host_libc", |b| {
                b.iter(|| {
                    let l = elf_loader_peer::link(&linker, &mut ctx, black_box(&path)).unwrap();
                    let a = elf_loader_peer::link_lookup(&ctx, &l, "sqlite3_libversion");
                    drop(l.release(&mut ctx).unwrap());
                    a
                })
            });
        }
        Err(e) => eprintln!("skip sqlite/elf_loader: {e}"),
    }
    g.finish();
}

/// Case 5: one call of `tiny_add` through each loader's symbol type.
fn call(c: &mut Criterion) {
    let path = plugin("libtiny.so");
    let sd = ns::open(&path, &ns::options());
    // SAFETY: tiny_add is `int tiny_add(int, int)`.
    let sd_f: TinyAdd = unsafe { std::mem::transmute(sd.symbol(TINY_FN).unwrap().as_ptr()) };
    let dl = glibc::Dl::open(&c_path(&path));
    // SAFETY: as above.
    let dl_f: TinyAdd = unsafe { std::mem::transmute(dl.sym(&cstr(TINY_FN))) };
    let ll = libloading_peer::open(&path);
    // SAFETY: as above.
    let ll_f = unsafe { ll.get::<TinyAdd>(b"tiny_add\0") }.unwrap();
    let el = elf_loader_peer::Host::bare().open(&path);
    // SAFETY: as above.
    let el_f = unsafe { el.get::<TinyAdd>(TINY_FN) }.unwrap().unwrap();
    let mut g = c.benchmark_group("call");
    g.bench_function("staticdl_fn_ptr", |b| {
        b.iter(|| sd_f(black_box(2), black_box(3)))
    });
    g.bench_function("glibc_fn_ptr", |b| {
        b.iter(|| dl_f(black_box(2), black_box(3)))
    });
    g.bench_function("libloading_symbol", |b| {
        b.iter(|| ll_f(black_box(2), black_box(3)))
    });
    g.bench_function("elf_loader_symbol", |b| {
        b.iter(|| el_f(black_box(2), black_box(3)))
    });
    g.finish();
}

/// Case 8: each loader's syscall sequence for the tiny plugin, replayed alone.
fn replay_case(c: &mut Criterion) {
    let plan = replay::Plan::new(&plugin("libtiny.so"));
    let mut g = c.benchmark_group("replay");
    g.bench_function("staticdl_syscalls", |b| b.iter(|| plan.staticdl()));
    g.bench_function("staticdl_syscalls+page_touches", |b| {
        b.iter(|| plan.staticdl_touch())
    });
    g.bench_function("glibc_syscalls", |b| b.iter(|| plan.glibc()));
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = tiny, tiny_libc, lookup, reopen, heavy, sqlite, call, replay_case
}
criterion_main!(benches);
