//! staticdl's cases in a plain timing loop, for comparing a fully static musl host
//! with the ordinary dynamic glibc host (the same source builds for both).
//!
//! Each case is timed in rounds: a round runs the operation enough times to last
//! about 100 ms (calibrated once), and the median of the rounds' per-operation
//! times is printed. No criterion: it is the same loop on both hosts, which is
//! what the comparison needs.
//!
//! ```text
//! cargo build --release --manifest-path benches/Cargo.toml --target x86_64-unknown-linux-musl --bin static_suite
//! benches/target/x86_64-unknown-linux-musl/release/static_suite      # static host
//! cargo run --release --manifest-path benches/Cargo.toml --bin static_suite   # dynamic host
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use staticdl_bench::*;
use staticdl_loader::SymbolName;

const HIT_NAME: SymbolName<'static> = SymbolName::new(HIT);
const MISS_NAME: SymbolName<'static> = SymbolName::new(MISS);
const ROUNDS: usize = 9;
const ROUND: Duration = Duration::from_millis(100);

/// Median time per call of `f` in nanoseconds, over [`ROUNDS`] rounds of about
/// [`ROUND`] each.
fn time(mut f: impl FnMut()) -> f64 {
    // Calibrate: double the count until one batch takes ROUND / 8.
    let mut n = 1u64;
    loop {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        if t.elapsed() >= ROUND / 8 || n >= 1 << 30 {
            break;
        }
        n *= 2;
    }
    n *= 8;
    let mut per: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed().as_secs_f64() * 1e9 / n as f64
        })
        .collect();
    per.sort_by(f64::total_cmp);
    per[ROUNDS / 2]
}

fn fmt(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

/// The objects built against glibc, with staticdl's own C library provider.
#[cfg(feature = "facade")]
fn provider_rows(rows: &mut Vec<(&'static str, f64)>) {
    let opts = facade::provider_options();
    for (what, path, name) in [
        (
            "tiny (glibc build) + staticdl::provider: open + lookup + close",
            plugin("libtiny_libc.so"),
            TINY_FN,
        ),
        (
            "libsqlite3 + staticdl::provider: open + lookup + close",
            std::path::PathBuf::from(SQLITE),
            "sqlite3_libversion",
        ),
    ] {
        match facade::provider_open_lookup_close(&path, &opts, name) {
            Ok(a) if a != 0 => rows.push((
                what,
                time(|| {
                    black_box(
                        facade::provider_open_lookup_close(black_box(&path), &opts, name).unwrap(),
                    );
                }),
            )),
            Ok(_) => eprintln!("{what}: `{name}` not found"),
            Err(e) => eprintln!("{what}: {e}"),
        }
    }
}

#[cfg(not(feature = "facade"))]
fn provider_rows(_: &mut Vec<(&'static str, f64)>) {}

fn main() {
    let host = if cfg!(target_feature = "crt-static") {
        "static"
    } else {
        "dynamic"
    };
    let host = format!(
        "{host} {}",
        if cfg!(target_env = "musl") {
            "musl"
        } else {
            "glibc"
        }
    );
    let tiny = plugin("libtiny.so");
    let heavy = plugin("libbench_heavy.so");
    let opts = ns::options();
    let mut rows: Vec<(&str, f64)> = Vec::new();

    rows.push((
        "tiny: open + lookup + close",
        time(|| {
            black_box(ns::open_lookup_close(black_box(&tiny), &opts, TINY_FN));
        }),
    ));

    let lib5k = ns::open(&plugin("libexports5k.so"), &opts);
    rows.push((
        "lookup hit, symbol(&str)",
        time(|| {
            black_box(lib5k.symbol(black_box(HIT)));
        }),
    ));
    rows.push((
        "lookup hit, lookup_here(const)",
        time(|| {
            black_box(lib5k.lookup_here(black_box(&HIT_NAME)));
        }),
    ));
    rows.push((
        "lookup miss, symbol(&str)",
        time(|| {
            black_box(lib5k.symbol(black_box(MISS)));
        }),
    ));
    rows.push((
        "lookup miss, lookup_here(const)",
        time(|| {
            black_box(lib5k.lookup_here(black_box(&MISS_NAME)));
        }),
    ));
    drop(lib5k);

    {
        let _held = ns::open(&tiny, &opts);
        rows.push((
            "re-open (Namespace::load of an open object)",
            time(|| {
                black_box(ns::open(black_box(&tiny), &opts));
            }),
        ));
    }

    rows.push((
        "heavy: open + lookup + close",
        time(|| {
            black_box(ns::open_lookup_close(black_box(&heavy), &opts, "heavy_sum"));
        }),
    ));

    {
        let lib = ns::open(&tiny, &opts);
        // SAFETY: `int tiny_add(int, int)`.
        let f: TinyAdd = unsafe { std::mem::transmute(lib.symbol(TINY_FN).unwrap().as_ptr()) };
        rows.push((
            "call tiny_add",
            time(|| {
                black_box(f(black_box(2), black_box(3)));
            }),
        ));
    }

    provider_rows(&mut rows);

    let plan = replay::Plan::new(&tiny);
    rows.push((
        "replay of staticdl's syscalls (tiny)",
        time(|| plan.staticdl()),
    ));
    rows.push((
        "replay + page touches (tiny)",
        time(|| plan.staticdl_touch()),
    ));

    println!("| case ({host} host) | median per operation |");
    println!("| --- | ---: |");
    for (what, d) in &rows {
        println!("| {what} | {} |", fmt(*d));
    }

    // Memory: 100 variants, as `memory` does for the dynamic host.
    let before = MemSnapshot::now();
    let libs: Vec<_> = (0..VARIANTS)
        .map(|i| {
            let lib = ns::open(&variant(i), &opts);
            // SAFETY: `int tiny_add(int, int)`.
            let f: TinyAdd = unsafe { std::mem::transmute(lib.symbol(TINY_FN).unwrap().as_ptr()) };
            assert_eq!(f(2, 3), 5);
            lib
        })
        .collect();
    let line = MemSnapshot::now().report(&format!("staticdl ({host})"), &before, libs.len());
    println!("\n| loader | plugins | RSS growth KiB | PSS growth KiB | private dirty growth KiB | new mappings | RSS KiB per plugin |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    println!("| {} |", line.split('\t').collect::<Vec<_>>().join(" | "));
}
