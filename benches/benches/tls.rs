//! The cost of reaching a plugin's thread-local variable, by TLS model, next to
//! the host's own `thread_local!`: one call of `tls_bump` (`return ++counter;`)
//! through a function pointer, the object loaded by staticdl and by glibc.
//!
//! - initial-exec (`libtls_ie.so`): `%fs:` plus an offset fixed at load time (the
//!   block lives in staticdl's static TLS surplus, in glibc's own surplus);
//! - general-dynamic (`libtls_gd.so`): a call of `__tls_get_addr`;
//! - TLS descriptors (`libtls_desc.so`, `-mtls-dialect=gnu2`): a call through the
//!   descriptor (static for staticdl's surplus blocks, dynamic otherwise);
//! - the host: a `#[inline(never)]` function using a `thread_local!` `Cell`.
//!
//! Run: `cargo bench --manifest-path benches/Cargo.toml --bench tls`

use std::cell::Cell;
use std::ffi::CString;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use staticdl_bench::*;

thread_local! {
    static COUNTER: Cell<i32> = const { Cell::new(0) };
}

#[inline(never)]
extern "C" fn host_bump() -> i32 {
    COUNTER.with(|c| {
        c.set(c.get() + 1);
        c.get()
    })
}

type Bump = extern "C" fn() -> i32;

fn tls(c: &mut Criterion) {
    let opts = ns::options();
    let mut g = c.benchmark_group("tls");
    let host: Bump = black_box(host_bump);
    g.bench_function("host thread_local!", |b| b.iter(|| black_box(host())));
    let mut keep = Vec::new();
    let mut dls = Vec::new();
    for (model, file) in [
        ("initial-exec", "libtls_ie.so"),
        ("general-dynamic", "libtls_gd.so"),
        ("descriptor", "libtls_desc.so"),
    ] {
        let path = plugin(file);
        let lib = ns::open(&path, &opts);
        let p = lib.symbol("tls_bump").expect("tls_bump").as_ptr();
        // SAFETY: tls_bump is `int (void)`.
        let f: Bump = unsafe { std::mem::transmute::<*mut std::ffi::c_void, Bump>(p) };
        assert_eq!(f() + 1, f(), "the counter counts");
        g.bench_function(format!("staticdl {model}"), |b| b.iter(|| black_box(f())));
        keep.push(lib);
        let dl = glibc::Dl::open(&c_path(&path));
        let p = dl.sym(&CString::new("tls_bump").unwrap());
        assert!(!p.is_null());
        // SAFETY: as above.
        let f: Bump = unsafe { std::mem::transmute::<*mut std::ffi::c_void, Bump>(p) };
        assert_eq!(f() + 1, f(), "the counter counts");
        g.bench_function(format!("glibc {model}"), |b| b.iter(|| black_box(f())));
        dls.push(dl);
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = tls
}
criterion_main!(benches);
