//! Plugins built against the plugin ABI, loaded through the facade: a C plugin
//! (`tests/fixtures/c/abi_hello.c`, compiled against `abi/include/staticdl.h`) and
//! a `#![no_std]` Rust plugin (`tests/fixtures/rust_abi`, built with the
//! `staticdl_abi::plugin!` macro and its `HostAllocator`). For each: the
//! descriptor's metadata, typed calls of its exports, a handler called with a
//! `Request`, the `Response` read back and released, a signature mismatch, and
//! the host table at work (logging, the allocator bridge). And a plugin built for
//! another ABI version, refused and unloaded.

mod common;

use std::ffi::c_void;
use std::fs;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use staticdl::abi::{Header, Request};
use staticdl::{Error, LogLevel, OpenError, OpenOptions, Plugin};

/// Every message plugins logged, in order.
static LOGS: Mutex<Vec<(LogLevel, String)>> = Mutex::new(Vec::new());

fn capture_logs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        staticdl::set_log_handler(|level, msg| LOGS.lock().unwrap().push((level, msg.to_owned())));
    });
}

fn logged(msg: &str) -> usize {
    LOGS.lock()
        .unwrap()
        .iter()
        .filter(|(_, m)| m == msg)
        .count()
}

fn mappings_of(path: &Path) -> usize {
    let maps = fs::read_to_string("/proc/self/maps").unwrap();
    let p = path.to_string_lossy();
    maps.lines().filter(|l| l.ends_with(&*p)).count()
}

extern "C" {
    fn memcpy(dst: *mut c_void, src: *const c_void, n: usize) -> *mut c_void;
    fn memset(dst: *mut c_void, c: i32, n: usize) -> *mut c_void;
    fn bcmp(a: *const c_void, b: *const c_void, n: usize) -> i32;
}

/// What a libc-free Rust `cdylib` imports: the memory functions that the
/// compiler emits calls to, taken from this process's libc.
fn rust_plugin_options() -> OpenOptions {
    Plugin::options()
        .system_dirs(false)
        .host_symbol("memcpy", memcpy as *const () as usize)
        .host_symbol("memset", memset as *const () as usize)
        .host_symbol("bcmp", bcmp as *const () as usize)
}

#[test]
fn c_plugin_declares_exports_routes_and_answers_requests() {
    capture_logs();
    let path = common::fixture("abi_hello");
    let before = logged("abi_hello: init");
    let p = Plugin::open(&path).unwrap();
    assert_eq!(
        logged("abi_hello: init"),
        before + 1,
        "init logs through the host"
    );

    let d = p.descriptor().expect("abi_hello has a descriptor");
    assert_eq!(
        (d.name(), d.version(), d.abi_version()),
        ("abi_hello", "1.2.0", 1)
    );
    let exports: Vec<(&str, &str)> = d
        .exports()
        .iter()
        .map(|e| (e.name(), e.signature()))
        .collect();
    assert_eq!(
        exports,
        [
            ("add", "fn(i32,i32)->i32"),
            ("scale", "fn(f64,f64)->f64"),
            ("strlen8", "fn(*const u8)->usize"),
            ("abi_hello_handler", staticdl::abi::HANDLER_SIGNATURE),
        ]
    );
    let route = d.route("GET", "/hello").expect("route declared");
    assert_eq!(route.handler(), "abi_hello_handler");
    assert_eq!(d.routes().len(), 1);

    // Typed calls.
    let add = p.get::<extern "C" fn(i32, i32) -> i32>("add").unwrap();
    assert_eq!(add.call(-7, 49), 42);
    let scale = p.get::<extern "C" fn(f64, f64) -> f64>("scale").unwrap();
    assert_eq!(scale.call(0.25, 8.0), 2.0);
    let strlen = p
        .get::<unsafe extern "C" fn(*const u8) -> usize>("strlen8")
        .unwrap();
    // SAFETY: a NUL-terminated string.
    assert_eq!(unsafe { strlen.call(c"hello".as_ptr().cast()) }, 5);

    // A wrong type is refused with both signatures.
    let e = p
        .get::<extern "C" fn(f32, f32) -> f32>("scale")
        .unwrap_err();
    assert!(
        matches!(&e, Error::SignatureMismatch { expected, found, .. }
            if expected == "fn(f32,f32)->f32" && found == "fn(f64,f64)->f64"),
        "{e}"
    );

    // The handler: the body is allocated through the host's allocator and freed by
    // the plugin's release when the reply is dropped.
    let headers = [Header::new(b"accept", b"text/plain")];
    for (query, body) in [
        (&b"name=staticdl"[..], &b"hello staticdl"[..]),
        (b"x=1", b"hello world"),
    ] {
        let req = Request::new(b"GET", b"/hello", query, &headers, b"");
        let reply = p.call_handler(route.handler(), &req).unwrap();
        assert!(reply.is_ok());
        assert_eq!(reply.status(), 200);
        assert_eq!(reply.body(), body);
        assert_eq!(reply.header(b"x-plugin"), Some(&b"abi_hello"[..]));
        assert_eq!(reply.header(b"Content-Type"), Some(&b"text/plain"[..]));
    }
    // A function that is not a handler cannot be called as one.
    let req = Request::new(b"GET", b"/", b"", &[], b"");
    assert!(matches!(
        p.call_handler("add", &req),
        Err(Error::SignatureMismatch { .. })
    ));

    // Plain C symbols beside the descriptor.
    // SAFETY: `unsigned int abi_hello_inits` and `const char *abi_hello_version(void)`.
    unsafe {
        let inits = p.symbol::<*const u32>("abi_hello_inits").unwrap();
        assert_eq!(**inits, 1, "init ran once");
        let version = p
            .symbol::<extern "C" fn() -> *const std::ffi::c_char>("abi_hello_version")
            .unwrap();
        assert_eq!(
            std::ffi::CStr::from_ptr(version.call()).to_str().unwrap(),
            "abi_hello 1.2.0"
        );
    }
    let again = Plugin::open(&path).unwrap();
    assert_eq!(again, p);
    assert_eq!(logged("abi_hello: init"), before + 1, "still once");

    let fini_before = logged("abi_hello: fini");
    drop(again);
    assert!(p.close());
    assert_eq!(
        logged("abi_hello: fini"),
        fini_before + 1,
        "fini ran at unload"
    );
    assert_eq!(mappings_of(&path), 0);
}

#[test]
fn rust_plugin_built_with_the_macro() {
    capture_logs();
    let path = common::fixture("rust_abi");
    let before = logged("rust_abi: init");
    let p = rust_plugin_options().open(&path).unwrap();
    assert_eq!(logged("rust_abi: init"), before + 1);
    assert!(LOGS
        .lock()
        .unwrap()
        .iter()
        .any(|(level, m)| m == "rust_abi: init" && *level == LogLevel::Info));

    let d = p.descriptor().unwrap();
    assert_eq!((d.name(), d.version()), ("rust_abi", "0.3.0"));
    let names: Vec<&str> = d.exports().iter().map(|e| e.name()).collect();
    assert_eq!(
        names,
        [
            "rabi_add",
            "rabi_fib",
            "rabi_scale",
            "rabi_inits",
            "rabi_hello"
        ]
    );
    assert_eq!(d.export("rabi_fib").unwrap().signature(), "fn(u32)->u64");
    let route = d.route("GET", "/rust/hello").unwrap();
    assert_eq!(route.handler(), "rabi_hello");

    let add = p.get::<extern "C" fn(i32, i32) -> i32>("rabi_add").unwrap();
    assert_eq!(
        add.call(i32::MAX, 1),
        i32::MIN,
        "wrapping, as the Rust function says"
    );
    let fib = p.get::<extern "C" fn(u32) -> u64>("rabi_fib").unwrap();
    assert_eq!(fib.call(10), 55);
    let scale = p
        .get::<extern "C" fn(f64, f64) -> f64>("rabi_scale")
        .unwrap();
    assert_eq!(scale.call(1.5, -2.0), -3.0);
    let inits = p.get::<extern "C" fn() -> u32>("rabi_inits").unwrap();
    assert_eq!(inits.call(), 1);
    let e = p.get::<extern "C" fn(u64) -> u64>("rabi_fib").unwrap_err();
    assert_eq!(
        e.to_string(),
        "rabi_fib: signature mismatch: expected `fn(u64)->u64`, found `fn(u32)->u64`"
    );

    // The handler builds its response with `ResponseBuilder` (heap memory from the
    // host, through `HostAllocator`) and frees it in its own `release`.
    for _ in 0..100 {
        let req = Request::new(b"GET", b"/rust/hello", b"name=ferris", &[], b"");
        let reply = p.call_handler("rabi_hello", &req).unwrap();
        assert!(reply.is_ok(), "{:?}", reply.error_message());
        assert_eq!((reply.status(), reply.body()), (200, &b"hello ferris"[..]));
        assert_eq!(reply.header(b"x-plugin"), Some(&b"rust_abi"[..]));
    }

    let fini_before = logged("rust_abi: fini");
    assert!(p.close());
    assert_eq!(logged("rust_abi: fini"), fini_before + 1);
    assert_eq!(mappings_of(&path), 0);
}

static REFUSED: Mutex<Vec<i32>> = Mutex::new(Vec::new());
extern "C" fn record_refused(v: i32) {
    REFUSED.lock().unwrap().push(v);
}

#[test]
fn plugin_of_another_abi_version_is_refused_and_unloaded() {
    let path = common::fixture("abi_badversion");
    let opts = Plugin::options().host_symbol("host_record", record_refused as *const () as usize);
    let e = opts.open(&path).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "open({path:?}): plugin built for staticdl ABI version 2, this host speaks version 1"
        )
    );
    assert!(matches!(
        e.open_error(),
        Some(OpenError::AbiVersion {
            found: 2,
            supported: 1
        })
    ));
    assert!(e.loader_error().is_none(), "the loader itself succeeded");
    assert!(REFUSED.lock().unwrap().is_empty(), "init was never called");
    assert_eq!(mappings_of(&path), 0, "the refused plugin was unmapped");
    let again = opts.open(&path).unwrap_err();
    assert!(again.is_previous_failure());
    assert!(again
        .to_string()
        .ends_with("this host speaks version 1 (previous failure)"));
}

/// A copy of fixture `name` of its own, so that loading it in another namespace
/// does not show up as a mapping of the original in the other tests.
fn private_copy(name: &str) -> std::path::PathBuf {
    let src = common::fixture(name);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("abi-plugins")
        .join(std::process::id().to_string());
    fs::create_dir_all(&dir).unwrap();
    let dst = dir.join(src.file_name().unwrap());
    fs::copy(&src, &dst).unwrap();
    dst
}

#[test]
fn descriptor_is_read_without_running_code() {
    // What `staticdl inspect` relies on: a load that runs nothing still yields the
    // descriptor, and a refused one says why.
    let ns = staticdl::loader::Namespace::new();
    let opts = staticdl::loader::LoadOptions::new().run_code(false);
    let lib = ns.load(private_copy("abi_hello"), &opts).unwrap();
    let d = staticdl::Descriptor::from_library(&lib).unwrap().unwrap();
    assert_eq!(d.name(), "abi_hello");
    assert_eq!(d.exports().len(), 4);
    drop(lib);
    let opts = opts.host_symbols(|_: &[u8], _: Option<&[u8]>| Some(1usize));
    let bad = ns.load(private_copy("abi_badversion"), &opts).unwrap();
    let e = staticdl::Descriptor::from_library(&bad).unwrap_err();
    assert!(matches!(e, OpenError::AbiVersion { found: 2, .. }), "{e}");
    let plain = ns.load(private_copy("abi_callconv"), &opts).unwrap();
    assert_eq!(staticdl::Descriptor::from_library(&plain).unwrap(), None);
}
