//! The [`plugin!`](crate::plugin) macro compiled inside the crate's tests: the
//! descriptor it emits, its wrappers called through the descriptor (after the
//! signature check) and by symbol name, `init`/`fini`, handlers, and the panic
//! policy.
//!
//! Unsafe code is allowed in this module: the tests define plugins with `plugin!`
//! (exported, unmangled descriptors) and read what the wrappers wrote through raw
//! pointers, as a host does.
#![allow(unsafe_code)]

use core::ffi::c_void;
use std::string::ToString;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::testing::{self, FakeHost, TABLE};
use crate::{
    call_handler, Difference, HandlerError, HostApi, PluginInfo, Request, StaticResponse,
    ABI_VERSION, HANDLER_BAD_ARGS, HANDLER_ERROR, HANDLER_OK, HANDLER_SIGNATURE, INIT_BAD_HOST,
    INIT_OK,
};

static INITS: AtomicUsize = AtomicUsize::new(0);
static FINIS: AtomicUsize = AtomicUsize::new(0);

fn add(a: i32, b: i32) -> i32 {
    a.wrapping_add(b)
}

fn checked(a: i32) -> i32 {
    assert!(a >= 0, "negative input {a}");
    a
}

fn always_panics(_a: u32) -> u32 {
    panic!("always")
}

fn tick() {}

/// # Safety
/// `p` must be readable.
unsafe fn read_byte(p: *const u8) -> u8 {
    // SAFETY: forwarded to the caller.
    unsafe { *p }
}

mod nested {
    pub fn mul(a: f64, b: f64) -> f64 {
        a * b
    }
}

fn init(host: &HostApi) -> Result<(), i32> {
    assert_eq!(host.abi_version, ABI_VERSION);
    INITS.fetch_add(1, Ordering::SeqCst);
    crate::log::info("test plugin initialised");
    Ok(())
}

fn fini() {
    FINIS.fetch_add(1, Ordering::SeqCst);
}

fn hello(req: &Request<'_>) -> Result<StaticResponse, HandlerError> {
    match req.query_param(b"name") {
        Some(b"world") => Ok(StaticResponse::new(200, b"hello world")),
        Some(_) => Err(HandlerError::new(404, "unknown name")),
        None => Err(HandlerError::new(400, "name missing")),
    }
}

#[cfg(feature = "alloc")]
fn echo(req: &Request<'_>) -> crate::ResponseBuilder {
    let mut resp = crate::ResponseBuilder::ok().header("x-method", req.method());
    for header in req.headers() {
        resp.push_header(header.name(), header.value());
    }
    resp.body(req.body())
}

#[cfg(not(feature = "alloc"))]
fn echo(_req: &Request<'_>) -> StaticResponse {
    StaticResponse::new(200, b"")
}

fn explodes(_req: &Request<'_>) -> StaticResponse {
    panic!("handler exploded")
}

crate::plugin! {
    name: "test-plugin",
    version: "0.0.1",
    init: init,
    fini: fini,
    exports: {
        t_add: fn add(a: i32, b: i32) -> i32,
        t_checked: fn checked(a: i32) -> i32 = -99,
        t_always_panics: fn always_panics(a: u32) -> u32,
        t_tick: fn tick(),
        t_read: unsafe fn read_byte(p: *const u8) -> u8,
        t_mul: fn nested::mul(a: f64, b: f64,) -> f64,
    },
    handlers: {
        t_hello: hello,
        t_echo: echo,
        t_explodes: explodes,
    },
    routes: [
        ("GET", "/hello", t_hello),
        ("POST", "/echo", t_echo),
    ],
}

unsafe extern "C" {
    fn t_add(a: i32, b: i32) -> i32;
    fn t_tick();
}

fn info() -> PluginInfo<'static> {
    let addr = core::ptr::from_ref(&STATICDL_PLUGIN).cast::<c_void>();
    // SAFETY: the descriptor and everything it points to are statics of this program.
    let desc = unsafe { crate::PluginDescriptor::from_ptr(addr) }.expect("header");
    // SAFETY: as above.
    unsafe { desc.validate() }.expect("descriptor")
}

fn get<F: crate::FnSignature>(name: &str) -> F {
    // SAFETY: the exports are functions of this program with truthful signatures.
    unsafe { info().export(name).expect(name).get::<F>() }.expect("signature")
}

fn handler(name: &str) -> crate::HandlerFn {
    get(name)
}

#[test]
fn descriptor_lists_exports_and_routes() {
    let info = info();
    assert_eq!((info.name(), info.version()), ("test-plugin", "0.0.1"));
    let names: std::vec::Vec<_> = info.exports().map(|e| (e.name(), e.signature())).collect();
    assert_eq!(
        names,
        [
            ("t_add", "fn(i32,i32)->i32"),
            ("t_checked", "fn(i32)->i32"),
            ("t_always_panics", "fn(u32)->u32"),
            ("t_tick", "fn()->()"),
            ("t_read", "fn(*const u8)->u8"),
            ("t_mul", "fn(f64,f64)->f64"),
            ("t_hello", HANDLER_SIGNATURE),
            ("t_echo", HANDLER_SIGNATURE),
            ("t_explodes", HANDLER_SIGNATURE),
        ]
    );
    let routes: std::vec::Vec<_> = info
        .routes()
        .map(|r| (r.method, r.path, r.handler.name()))
        .collect();
    assert_eq!(
        routes,
        [("GET", "/hello", "t_hello"), ("POST", "/echo", "t_echo")]
    );
}

#[test]
fn exports_are_callable_through_the_descriptor() {
    assert_eq!(get::<extern "C" fn(i32, i32) -> i32>("t_add")(40, 2), 42);
    assert_eq!(
        get::<extern "C" fn(f64, f64) -> f64>("t_mul")(1.5, 4.0),
        6.0
    );
    get::<extern "C" fn()>("t_tick")();
    let byte = 0xab_u8;
    let read = get::<unsafe extern "C" fn(*const u8) -> u8>("t_read");
    // SAFETY: `byte` is readable.
    assert_eq!(unsafe { read(&byte) }, 0xab);
}

#[test]
fn exports_are_callable_by_symbol_name() {
    // SAFETY: `t_add`/`t_tick` are the wrappers the macro emitted, with these types.
    unsafe {
        assert_eq!(t_add(1, 2), 3);
        t_tick();
    }
    let by_symbol = t_add as unsafe extern "C" fn(i32, i32) -> i32 as *const c_void;
    assert_eq!(info().export("t_add").unwrap().addr(), by_symbol);
}

#[test]
fn wrong_type_is_refused() {
    let export = info().export("t_add").unwrap();
    // SAFETY: refused before any conversion.
    let err = unsafe { export.get::<extern "C" fn(i64, i32) -> i32>() }.unwrap_err();
    assert_eq!(
        err.difference(),
        Difference::Argument {
            index: 0,
            expected: "i64",
            found: "i32"
        }
    );
    assert!(export.check::<extern "C" fn(i32, i32) -> i64>().is_err());
    assert!(export.check::<extern "C" fn(i32) -> i32>().is_err());
}

#[test]
fn init_installs_the_host_and_runs_the_hook() {
    let _lock = FakeHost::lock();
    let info = info();
    let init = info.init().expect("init is always emitted");
    let before = INITS.load(Ordering::SeqCst);
    // SAFETY: `TABLE` is a valid static table.
    assert_eq!(unsafe { init(&TABLE) }, INIT_OK);
    assert_eq!(INITS.load(Ordering::SeqCst), before + 1);
    assert!(core::ptr::eq(crate::host().unwrap(), &TABLE));
    assert_eq!(
        testing::take_logs(),
        [(3, "test plugin initialised".to_string())]
    );

    // SAFETY: null is rejected before use.
    assert_eq!(unsafe { init(core::ptr::null()) }, INIT_BAD_HOST);
    let mut future = HostApi::new();
    future.abi_version = ABI_VERSION + 1;
    // SAFETY: rejected before being stored.
    assert_eq!(unsafe { init(&future) }, INIT_BAD_HOST);

    let fini = info.fini().expect("fini is always emitted");
    let before = FINIS.load(Ordering::SeqCst);
    // SAFETY: `fini` takes no arguments and only runs the hook.
    unsafe { fini() };
    assert_eq!(FINIS.load(Ordering::SeqCst), before + 1);
}

#[test]
fn handler_results_reach_the_host() {
    let ok = Request::new(b"GET", b"/hello", b"name=world", &[], b"");
    // SAFETY: the macro's handlers keep the handler contract.
    let reply = unsafe { call_handler(handler("t_hello"), &ok) };
    assert_eq!(
        (reply.code(), reply.status(), reply.body()),
        (HANDLER_OK, 200, &b"hello world"[..])
    );

    let missing = Request::new(b"GET", b"/hello", b"", &[], b"");
    // SAFETY: as above.
    let reply = unsafe { call_handler(handler("t_hello"), &missing) };
    assert_eq!((reply.code(), reply.status()), (HANDLER_ERROR, 400));
    assert_eq!(reply.error_message(), Some("name missing"));
    assert_eq!(
        reply.header(b"Content-Type"),
        Some(&b"text/plain; charset=utf-8"[..])
    );

    let h = handler("t_hello");
    // SAFETY: null arguments are rejected by the wrapper.
    let code = unsafe { h(core::ptr::null(), core::ptr::null_mut()) };
    assert_eq!(code, HANDLER_BAD_ARGS);
}

#[cfg(feature = "alloc")]
#[test]
fn owned_responses_are_released_by_the_plugin() {
    let headers = [crate::Header::new(b"x-id", b"7")];
    let req = Request::new(b"POST", b"/echo", b"", &headers, b"payload");
    // SAFETY: as above.
    let reply = unsafe { call_handler(handler("t_echo"), &req) };
    assert!(reply.is_ok());
    assert_eq!(reply.body(), b"payload");
    assert_eq!(reply.header(b"x-method"), Some(&b"POST"[..]));
    assert_eq!(reply.header(b"X-ID"), Some(&b"7"[..]));
    drop(reply);
}

#[cfg(feature = "std")]
#[test]
fn panics_become_error_results() {
    let _host = FakeHost::install();
    let checked = get::<extern "C" fn(i32) -> i32>("t_checked");
    assert_eq!(checked(5), 5);
    assert_eq!(checked(-5), -99);
    assert_eq!(
        get::<extern "C" fn(u32) -> u32>("t_always_panics")(1),
        u32::MAX
    );

    let req = Request::new(b"GET", b"/boom", b"", &[], b"");
    // SAFETY: as above.
    let reply = unsafe { call_handler(handler("t_explodes"), &req) };
    assert_eq!(
        (reply.code(), reply.status()),
        (crate::HANDLER_PANICKED, 500)
    );
    assert_eq!(
        reply.error_message(),
        Some("handler panicked: handler exploded")
    );

    let logs = testing::take_logs();
    let messages: std::vec::Vec<_> = logs
        .iter()
        .map(|(level, text)| (*level, text.as_str()))
        .collect();
    assert_eq!(
        messages,
        [
            (1, "export `t_checked` panicked: negative input -5"),
            (1, "export `t_always_panics` panicked: always"),
            (1, "export `t_explodes` panicked: handler exploded"),
        ]
    );
}

#[test]
#[should_panic(expected = "a route names a handler that is not in `handlers`")]
fn route_to_a_plain_export_is_refused() {
    static EXPORTS: [crate::ExportDesc; 1] = [crate::ExportDesc::new(
        "f",
        "fn()->()",
        tick as fn() as *const c_void,
    )];
    crate::__private::check_tables(&EXPORTS, &[crate::Route::new("GET", "/f", "f")]);
}

#[test]
#[should_panic(expected = "two exports share a name")]
fn duplicate_exports_are_refused() {
    static EXPORTS: [crate::ExportDesc; 2] = [
        crate::ExportDesc::new("f", "fn()->()", tick as fn() as *const c_void),
        crate::ExportDesc::new("f", "fn()->()", tick as fn() as *const c_void),
    ];
    crate::__private::check_tables(&EXPORTS, &[]);
}
