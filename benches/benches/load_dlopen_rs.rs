//! dlopen-rs on the cases of `load.rs`, in a process of its own: linking dlopen-rs
//! puts its `dlopen` in place of glibc's for the whole program (see
//! `src/dlopen_rs_peer.rs`), so it cannot share a binary with the glibc cases.
//!
//! staticdl runs here too (`staticdl_same_process`) on the main cases, so that the
//! ratio of the two comes from one process and one run.
//!
//! Run: `cargo bench --manifest-path benches/Cargo.toml` (with `load.rs`), or
//! `--bench load_dlopen_rs` alone.

#[path = "../src/dlopen_rs_peer.rs"]
mod dlopen_rs_peer;

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use staticdl_bench::*;
use staticdl_loader::SymbolName;

const HIT_NAME: SymbolName<'static> = SymbolName::new(HIT);
const MISS_NAME: SymbolName<'static> = SymbolName::new(MISS);
const SAME: &str = "staticdl_same_process";

fn tiny(c: &mut Criterion) {
    let path = plugin("libtiny.so");
    let opts = ns::options();
    let mut g = c.benchmark_group("tiny");
    g.bench_function("dlopen-rs", |b| {
        b.iter(|| dlopen_rs_peer::open_lookup_close(black_box(&path), TINY_FN))
    });
    g.bench_function(SAME, |b| {
        b.iter(|| ns::open_lookup_close(black_box(&path), &opts, TINY_FN))
    });
    g.finish();
    let path = plugin("libtiny_libc.so");
    let mut g = c.benchmark_group("tiny_libc");
    g.bench_function("dlopen-rs", |b| {
        b.iter(|| dlopen_rs_peer::open_lookup_close(black_box(&path), TINY_FN))
    });
    g.finish();
}

fn lookup(c: &mut Criterion) {
    let path = plugin("libexports5k.so");
    let lib = dlopen_rs_peer::open(&path);
    let sd = ns::open(&path, &ns::options());
    let mut g = c.benchmark_group("lookup");
    for (what, s, k) in [("hit", HIT, &HIT_NAME), ("miss", MISS, &MISS_NAME)] {
        g.bench_function(BenchmarkId::new("dlopen-rs_get", what), |b| {
            // SAFETY: only turned into an address.
            b.iter(|| {
                unsafe { lib.get::<*mut std::ffi::c_void>(black_box(s)) }
                    .map(|s| *s as usize)
                    .ok()
            })
        });
        g.bench_function(
            BenchmarkId::new(format!("{SAME}_lookup_here_const"), what),
            |b| b.iter(|| sd.lookup_here(black_box(k))),
        );
    }
    g.finish();
}

fn reopen(c: &mut Criterion) {
    let path = plugin("libtiny.so");
    let _held = dlopen_rs_peer::open(&path);
    let opts = ns::options();
    let _sd = ns::open(&path, &opts);
    let mut g = c.benchmark_group("reopen");
    g.bench_function("dlopen-rs", |b| {
        b.iter(|| dlopen_rs_peer::open(black_box(&path)))
    });
    g.bench_function(SAME, |b| b.iter(|| ns::open(black_box(&path), &opts)));
    g.finish();
}

fn heavy(c: &mut Criterion) {
    let path = plugin("libbench_heavy.so");
    let opts = ns::options();
    let mut g = c.benchmark_group("heavy");
    g.bench_function("dlopen-rs", |b| {
        b.iter(|| dlopen_rs_peer::open_lookup_close(black_box(&path), "heavy_sum"))
    });
    g.bench_function(SAME, |b| {
        b.iter(|| ns::open_lookup_close(black_box(&path), &opts, "heavy_sum"))
    });
    g.finish();
}

fn sqlite(c: &mut Criterion) {
    let path = std::path::PathBuf::from(SQLITE);
    if !path.exists() {
        eprintln!("skip sqlite: {SQLITE} not installed");
        return;
    }
    // libm.so.6 held open by dlopen-rs throughout, as glibc holds it in `load.rs`.
    let _libm = dlopen_rs_peer::try_open(std::path::Path::new("/lib/x86_64-linux-gnu/libm.so.6"));
    let mut g = c.benchmark_group("sqlite");
    g.bench_function("dlopen-rs", |b| {
        b.iter(|| dlopen_rs_peer::open_lookup_close(black_box(&path), "sqlite3_libversion"))
    });
    g.finish();
}

fn call(c: &mut Criterion) {
    let lib = dlopen_rs_peer::open(&plugin("libtiny.so"));
    // SAFETY: `int tiny_add(int, int)`.
    let f = unsafe { lib.get::<TinyAdd>(TINY_FN) }.unwrap();
    let mut g = c.benchmark_group("call");
    g.bench_function("dlopen-rs_symbol", |b| {
        b.iter(|| f(black_box(2), black_box(3)))
    });
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
    targets = tiny, lookup, reopen, heavy, sqlite, call
}
criterion_main!(benches);
