//! What a call costs through staticdl's call traps (`staticdl::intercept`),
//! against a direct call of the same function, in one process.
//!
//! Cases (the group `intercept_call`, one call of `int tiny_add(int, int)` of
//! the tiny plugin each; every case opens its own copy of the plugin, so each
//! gets its own options):
//! - `direct`: through the function's real address;
//! - `stub_idle`: through the stub of an export trap with no interceptor
//!   active (the stub jumps straight to the function);
//! - `thunk_other_thread`: through the thunk, with the only interceptor a
//!   per-thread one on another thread (saved, checked, restored, jumped on);
//! - `pre`: a pre that continues (the call then goes on with the caller's
//!   frame);
//! - `pre_post`: a pre and a post (the thunk calls the function and runs the
//!   post after it).
//!
//! With `--features preload`, the group `preload_at_start` also times the
//! constructor-mode entry with `STATICDL_PRELOAD` unset: what start-up pays.
//!
//! Run: `cargo bench --manifest-path benches/Cargo.toml --bench intercept [--features preload]`

use std::hint::black_box;
use std::sync::mpsc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use staticdl::intercept::{self, Exports, Flow, Interceptor};
use staticdl::Plugin;
use staticdl_bench::*;

type Add = extern "C" fn(i32, i32) -> i32;

/// Copy `i` of the tiny plugin, opened with `interceptor` on `tiny_add` (or
/// without a trap), and the address its lookup hands out.
fn open(i: usize, interceptor: Option<Interceptor>) -> (Plugin, Add) {
    let mut opts = Plugin::options().system_dirs(false).keep_loaded(true);
    if let Some(i) = interceptor {
        // SAFETY: `int tiny_add(int, int)`: register arguments only.
        opts = unsafe { opts.intercept(Exports::named(TINY_FN), i) };
    }
    let p = opts
        .open(variant(i))
        .unwrap_or_else(|e| panic!("staticdl: {e}"));
    let addr = p.symbol_address(TINY_FN).expect("tiny_add").as_ptr() as usize;
    // SAFETY: the address of `tiny_add`, or of the stub that goes to it.
    (p, unsafe { std::mem::transmute::<usize, Add>(addr) })
}

fn calls(c: &mut Criterion) {
    let mut g = c.benchmark_group("intercept_call");
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(4));

    let (plain, direct) = open(0, None);
    g.bench_function("direct", |b| b.iter(|| direct(black_box(2), black_box(3))));

    let (_idle_p, idle) = open(1, Some(Interceptor::new()));
    assert_ne!(idle as usize, direct as usize);
    g.bench_function("stub_idle", |b| b.iter(|| idle(black_box(2), black_box(3))));

    let pre = Interceptor::new().pre(|call| {
        black_box(call.arg(0));
        Flow::Continue
    });
    let (_pre_p, pre) = open(2, Some(pre));
    g.bench_function("pre", |b| b.iter(|| pre(black_box(2), black_box(3))));

    let both = Interceptor::new()
        .pre(|call| {
            call.set_data(call.arg(0));
            Flow::Continue
        })
        .post(|call| {
            black_box(call.data() + call.ret());
        });
    let (_both_p, both) = open(3, Some(both));
    g.bench_function("pre_post", |b| b.iter(|| both(black_box(2), black_box(3))));

    // A per-thread interceptor alive on another thread sends every stub to the
    // thunk; this thread has none, so the thunk only checks and goes on.
    let (ready_tx, ready) = mpsc::channel();
    let (stop, stop_rx) = mpsc::channel::<()>();
    let other = std::thread::spawn(move || {
        let _guard = intercept::local(Interceptor::new().pre(|_| Flow::Continue));
        ready_tx.send(()).unwrap();
        let _ = stop_rx.recv();
    });
    ready.recv().unwrap();
    g.bench_function("thunk_other_thread", |b| {
        b.iter(|| idle(black_box(2), black_box(3)))
    });
    stop.send(()).unwrap();
    other.join().unwrap();
    g.finish();
    assert_eq!(direct(2, 3), 5);
    drop(plain);
}

#[cfg(feature = "preload")]
fn at_start(c: &mut Criterion) {
    extern "C" {
        /// The constructor-mode entry in `.init_array` (the facade's).
        static staticdl_preload_at_start: extern "C" fn();
    }
    std::env::remove_var("STATICDL_PRELOAD");
    // SAFETY: reading the entry's pointer; calling it with the variable unset
    // only reads the environment.
    let entry = unsafe { staticdl_preload_at_start };
    let mut g = c.benchmark_group("preload_at_start");
    g.bench_function("variable_unset", |b| b.iter(|| entry()));
    g.finish();
}

#[cfg(not(feature = "preload"))]
fn at_start(_: &mut Criterion) {}

criterion_group!(benches, calls, at_start);
criterion_main!(benches);
