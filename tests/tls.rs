//! Thread-local storage in every model an object may use, in the glibc test host
//! and in a static musl host (`tests/fixtures/tls_host`):
//!
//! - general-dynamic TLS of a `-nostdlib` object with no `DT_NEEDED`
//!   (`__tls_get_addr` is always the loader's), through the facade and through
//!   `staticdl call`;
//! - initial-exec TLS placed in the static surplus: an image that is all zero,
//!   and one with initialised data (a relocated pointer included) used from
//!   threads that exist before the load, that the host creates after it and that
//!   the object creates itself; `__tls_get_addr` of such a module answers its
//!   static block; a block too big for the surplus is a clean error;
//! - a Go c-shared library (Go keeps `g` in initial-exec TLS) called from several
//!   host threads; an OpenMP plugin (libgomp's thread data); Debian's
//!   `libGLdispatch.so.0`.
//!
//! Expected values are computed here, independently of the objects.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use staticdl::{OpenOptions, Plugin};

fn src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

fn run(cmd: &mut Command, what: &str) {
    let o = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        o.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn gcc(dir: &Path, out: &str, source: &str, flags: &[&str]) {
    let mut cmd = Command::new("gcc");
    cmd.args(["-shared", "-fPIC", "-O1", "-Wall", "-Wextra"])
        .arg(format!("-Wl,-soname,{out}"))
        .args(flags)
        .arg("-o")
        .arg(dir.join(out))
        .arg(src(source));
    run(&mut cmd, source);
}

/// Every fixture of this file, built once into a directory of its own (with the
/// shared `libtls.so` of `tests/fixtures/c/tls.c` copied in).
fn dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tls");
        std::fs::create_dir_all(&dir).unwrap();
        let nolibc = ["-nostdlib", "-fno-stack-protector"];
        gcc(&dir, "libtls_ie_zero.so", "ie_zero.c", &nolibc);
        gcc(&dir, "libtls_ie_huge.so", "ie_huge.c", &nolibc);
        gcc(&dir, "libtls_ie_data.so", "ie_data.c", &["-pthread"]);
        gcc(&dir, "libtls_omp.so", "omp.c", &["-fopenmp"]);
        std::fs::copy(common::fixture("tls"), dir.join("libtls.so")).unwrap();
        let mut go = Command::new("go");
        go.current_dir(src("go"))
            .args(["build", "-buildmode=c-shared", "-o"])
            .arg(dir.join("libgoplugin.so"))
            .arg(".")
            .env("CGO_ENABLED", "1")
            .env("GOFLAGS", "-mod=mod")
            .env("GOTOOLCHAIN", "local")
            .env(
                "GOCACHE",
                Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-cache"),
            );
        run(&mut go, "go build -buildmode=c-shared");
        dir
    })
}

/// Runs `tls_host MODE DIR` and returns its `key=value` lines.
fn host(mode: &str) -> BTreeMap<String, Vec<String>> {
    static HOST: OnceLock<PathBuf> = OnceLock::new();
    let exe = HOST.get_or_init(|| common::build_musl_host("tls_host"));
    let o = Command::new(exe)
        .arg(mode)
        .arg(dir())
        .output()
        .expect("running tls_host");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success() && out.ends_with("done\n"),
        "tls_host {mode} failed ({}):\n{out}{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in out.lines() {
        if let Some((k, v)) = line.split_once('=') {
            map.entry(k.to_string()).or_default().push(v.to_string());
        }
    }
    map
}

fn one<'a>(m: &'a BTreeMap<String, Vec<String>>, key: &str) -> &'a str {
    match m.get(key).map(Vec::as_slice) {
        Some([v]) => v,
        other => panic!("{key}: {other:?} in {m:?}"),
    }
}

/// `sum of i*i for i in [0, n)`.
fn sum_squares(n: i64) -> i64 {
    (n - 1) * n * (2 * n - 1) / 6
}

// ---- in the static musl host ----

#[test]
fn static_host_general_dynamic_without_dt_needed() {
    let m = host("gd-nostdlib");
    // Set to 11 here; another thread sees the initial 7, then its own 12.
    assert_eq!(one(&m, "gd_provider_true"), "11,7,12");
    assert_eq!(one(&m, "gd_provider_false"), "11,7,12");
}

#[test]
fn static_host_initial_exec_with_an_image_in_every_thread() {
    let m = host("ie-data");
    let loading = &m["ie_loading_thread"];
    assert_eq!(
        loading,
        &vec!["7,0,1".to_string(); 2],
        "loading thread, both rounds"
    );
    // Threads that existed before the load: initial values, then their own.
    assert_eq!(
        m["ie_threads_before_load"],
        vec!["7/0/1/20,7/0/1/21,7/0/1/22".to_string(); 2]
    );
    assert_eq!(m["ie_thread_after_load"], vec!["7,0,1".to_string(); 2]);
    assert_eq!(m["ie_own_threads"], vec!["8".to_string(); 2]);
    assert_eq!(m["ie_loading_thread_again"], vec!["5".to_string(); 2]);
    for round in 0..2 {
        assert_eq!(one(&m, &format!("ie_round_{round}_unmapped")), "true");
        // The block went back to the surplus, zeroed in every thread.
        assert_eq!(
            one(&m, &format!("ie_round_{round}_surplus_used")),
            "0,lost=0,total_ok=true"
        );
    }
}

#[test]
fn static_host_initial_exec_zero_image_and_general_dynamic_agree() {
    let m = host("ie-zero");
    assert_eq!(one(&m, "ie_zero_same_block"), "true,true");
    assert_eq!(one(&m, "ie_zero_counts"), "(1, 2, 3),(1, 2, 3)");
    assert_eq!(one(&m, "ie_zero_buffer"), "0,0");
}

#[test]
fn static_host_surplus_exhaustion_is_a_clean_error() {
    let m = host("ie-huge");
    assert_eq!(one(&m, "ie_huge_kind_is_exhausted"), "true");
    let e = one(&m, "ie_huge_error");
    assert!(e.contains("1048576 bytes"), "{e}");
    assert!(e.contains("STATICDL_STATIC_TLS_SIZE"), "{e}");
    assert_eq!(one(&m, "ie_huge_unmapped"), "true");
}

#[test]
fn static_host_runs_a_go_c_shared_library_from_four_threads() {
    let m = host("go");
    assert_eq!(one(&m, "go_kernel_arrays"), "true");
    let mut lines = m["go"].clone();
    lines.sort();
    let mut expected: Vec<String> = (0..4i64)
        .map(|k| {
            let n = 1000 + k;
            let v = k * 1000 + 7;
            let text = format!("go-{v:05}-{:.3}", v as f64 / 8.0);
            let cb = 3 * (2 * (7 + k)) + 1;
            format!(
                "{n}:{}:{text}:{}:2000:true:1:{cb}",
                sum_squares(n),
                text.len()
            )
        })
        .collect();
    expected.sort();
    assert_eq!(lines, expected);
    assert_eq!(one(&m, "go_host_panic_caught"), "true");
}

#[test]
fn static_host_openmp_reduction_twice_then_unloads() {
    let m = host("omp");
    let expected = format!("{},4", sum_squares(100_000));
    assert_eq!(one(&m, "omp_round_0"), expected);
    assert_eq!(one(&m, "omp_round_1"), expected);
    assert_eq!(one(&m, "omp_unmapped"), "true");
}

#[test]
fn static_host_loads_debians_gl_dispatch() {
    let m = host("gldispatch");
    assert_eq!(one(&m, "gldispatch_loaded"), "libGLdispatch.so.0");
    assert_eq!(one(&m, "gldispatch_unmapped"), "true");
}

// ---- in the glibc test host ----

#[test]
fn glibc_host_general_dynamic_without_dt_needed() {
    let path = dir().join("libtls.so");
    let p = OpenOptions::new()
        .libc_provider(false)
        .open(&path)
        .unwrap_or_else(|e| panic!("{e}"));
    let get = p.symbol_address("tls_get").unwrap().as_ptr();
    // SAFETY: `int tls_get(void)`, called while `p` holds the object.
    let get = unsafe { std::mem::transmute::<*mut std::ffi::c_void, extern "C" fn() -> i32>(get) };
    assert_eq!(get(), 7);
    assert_eq!(std::thread::spawn(move || get()).join().unwrap(), 7);
    drop(p);
}

#[test]
fn glibc_host_initial_exec_zero_image_from_threads_before_and_after() {
    let early = std::thread::spawn(|| {
        std::thread::park_timeout(std::time::Duration::from_millis(300));
    });
    let p = Plugin::open(dir().join("libtls_ie_zero.so")).unwrap_or_else(|e| panic!("{e}"));
    type AddrFn = extern "C" fn() -> *mut i64;
    let addr = |name: &str| p.symbol_address(name).unwrap().as_ptr();
    // SAFETY: the fixture's signatures, called while `p` holds the object.
    let (ie, gd, bump) = unsafe {
        (
            std::mem::transmute::<*mut std::ffi::c_void, AddrFn>(addr("ie_addr")),
            std::mem::transmute::<*mut std::ffi::c_void, AddrFn>(addr("gd_addr")),
            std::mem::transmute::<*mut std::ffi::c_void, extern "C" fn() -> i64>(addr("ie_bump")),
        )
    };
    let check = move || (ie() == gd(), bump(), bump());
    assert_eq!(check(), (true, 1, 2));
    assert_eq!(std::thread::spawn(check).join().unwrap(), (true, 1, 2));
    early.thread().unpark();
    early.join().unwrap();
    drop(p);
}

#[test]
fn glibc_host_initialised_image_with_other_threads_is_refused_cleanly() {
    // The test harness runs threads, and glibc does not let the loader reach
    // them: an initialised image cannot be put in place there.
    let path = dir().join("libtls_ie_data.so");
    let e = Plugin::open(&path).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("initial-exec"), "{text}");
    assert!(text.contains("threads that already run"), "{text}");
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    assert!(!maps.contains(&*path.to_string_lossy()), "left mapped");
}

#[test]
fn glibc_host_surplus_exhaustion_is_a_clean_error() {
    let path = dir().join("libtls_ie_huge.so");
    let e = Plugin::open(&path).unwrap_err();
    let kind = e.loader_error().map(|e| e.kind());
    assert!(
        matches!(
            kind,
            Some(staticdl::loader::ErrorKind::StaticTlsExhausted {
                needed: 1048576,
                ..
            })
        ),
        "{e}"
    );
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    assert!(!maps.contains(&*path.to_string_lossy()), "left mapped");
}
