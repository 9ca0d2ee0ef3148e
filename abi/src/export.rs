//! The [`plugin!`](crate::plugin) macro and the runtime its expansion calls.
//!
//! Owns: the macro grammar, the `extern "C"` wrappers it emits around plain Rust
//! functions, the generated `init`/`fini`, the compile-time checks of the export and
//! route tables, and the panic policy at the boundary.
//!
//! Does not own: the types the expansion fills in (`descriptor.rs`) or what a
//! handler's result turns into (`response.rs`). Handlers (`handlers:`) need the
//! `http` feature; without it the section is refused at compile time.
//!
//! # Panics at the boundary
//!
//! No panic ever unwinds into the host. With the `std` feature every wrapper runs the
//! Rust function under `std::panic::catch_unwind`; a panic is logged through the host
//! (`export `name` panicked: message`) and turned into an error result:
//!
//! * a handler returns [`HANDLER_PANICKED`](crate::HANDLER_PANICKED) with a 500
//!   response whose body is the panic message;
//! * `init` returns [`INIT_PANICKED`](crate::INIT_PANICKED); a panicking `fini` is
//!   logged and ignored;
//! * any other export returns the value given after `=` in its declaration, or else
//!   its return type's [`AbiReturn::PANIC_VALUE`](crate::AbiReturn::PANIC_VALUE).
//!
//! Without `std` (a `#![no_std]` plugin, which is built with `panic = "abort"`)
//! there is nothing to catch: a panic calls the plugin's `#[panic_handler]`, which
//! must not return. Even with `panic = "unwind"`, an unwind reaching an `extern "C"`
//! wrapper aborts the process (Rust 1.81+) rather than crossing into the host.
//!
//! Unsafe code is allowed in this module: the export wrappers the macro generates are C
//! entry points that read the caller's pointers and build the descriptor's raw tables.
#![allow(unsafe_code)]

/// Declares a plugin: emits the `#[no_mangle]` descriptor `STATICDL_PLUGIN` and one
/// `#[no_mangle] extern "C"` wrapper per export.
///
/// ```
/// use staticdl_abi::{HandlerError, HostApi, Request, StaticResponse};
///
/// fn add(a: i32, b: i32) -> i32 {
///     a.wrapping_add(b)
/// }
///
/// fn tick() {}
///
/// /// # Safety
/// /// `p` must point to `len` readable bytes.
/// unsafe fn checksum(p: *const u8, len: usize) -> u32 {
///     // SAFETY: forwarded to the caller.
///     let bytes = unsafe { core::slice::from_raw_parts(p, len) };
///     bytes.iter().map(|&b| u32::from(b)).sum()
/// }
///
/// fn hello(req: &Request<'_>) -> Result<StaticResponse, HandlerError> {
///     match req.query_param(b"lang") {
///         None | Some(b"en") => Ok(StaticResponse::new(200, b"hello")),
///         Some(b"fr") => Ok(StaticResponse::new(200, b"bonjour")),
///         Some(_) => Err(HandlerError::new(404, "unknown language")),
///     }
/// }
///
/// fn setup(_host: &HostApi) -> Result<(), i32> {
///     staticdl_abi::log::info("hello plugin ready");
///     Ok(())
/// }
///
/// fn teardown() {}
///
/// staticdl_abi::plugin! {
///     name: "hello",
///     version: "1.0.0",
///     init: setup,
///     fini: teardown,
///     exports: {
///         hello_add: fn add(a: i32, b: i32) -> i32,
///         hello_tick: fn tick(),
///         hello_checksum: unsafe fn checksum(p: *const u8, len: usize) -> u32 = 0,
///     },
///     handlers: {
///         hello_handler: hello,
///     },
///     routes: [
///         ("GET", "/hello", hello_handler),
///     ],
/// }
/// # fn main() {
/// #     // SAFETY: the descriptor is a static of this program.
/// #     let info = unsafe { STATICDL_PLUGIN.validate() }.unwrap();
/// #     assert_eq!(info.exports().len(), 4);
/// # }
/// ```
///
/// # Grammar
///
/// Sections come in this order; all but `name`, `version` and `exports` are optional
/// (write `exports: {}` for none).
///
/// * `name: "…", version: "…",` — `&'static str` constant expressions.
/// * `init: path,` — `fn(&HostApi) -> Result<(), i32>`, run by the generated `init`
///   after it has installed the host table ([`host::install`](crate::host::install)).
///   `Err(code)` is returned to the host (`Err(0)` as
///   [`INIT_FAILED`](crate::INIT_FAILED)). Without it, `init` only installs the table.
/// * `fini: path,` — `fn()`, run by the generated `fini`.
/// * `exports: { symbol: fn path(arg: Type, …) -> Ret = fallback, … }` — each entry
///   exports `symbol` (a C identifier: the symbol name and the descriptor name) as
///   `extern "C" fn(Type, …) -> Ret` that calls the Rust function at `path`
///   (`a::b::f` form, at most six arguments of [`AbiType`](crate::AbiType)s).
///   `-> Ret` may be left out for `()`; `= fallback` (what to return after a panic)
///   may be left out for [`AbiReturn::PANIC_VALUE`](crate::AbiReturn::PANIC_VALUE).
///   Write `unsafe fn` for an `unsafe` Rust function: the export is then an
///   `unsafe extern "C" fn` (same signature string).
/// * `handlers: { symbol: path, … }` — each entry exports `symbol` as a
///   [`HandlerFn`](crate::HandlerFn) that calls `path: fn(&Request<'_>) -> impl
///   IntoResponse` (see [`IntoResponse`](crate::IntoResponse)).
/// * `routes: [ ("METHOD", "/path", symbol), … ]` — HTTP routes naming a handler.
///
/// At compile time the macro checks that export names are unique and that every
/// route has a method, a path starting with `/`, and names an entry of `handlers`.
/// A crate invokes `plugin!` once (the descriptor is one symbol).
#[macro_export]
macro_rules! plugin {
    (
        name: $name:expr,
        version: $version:expr,
        $(init: $init:path,)?
        $(fini: $fini:path,)?
        exports: { $($exports:tt)* } $(,)?
        $(handlers: { $($hname:ident : $($hfn:ident)::+),* $(,)? } $(,)?)?
        $(routes: [ $(($method:expr, $path:expr, $route_handler:ident)),* $(,)? ] $(,)?)?
    ) => {
        /// This plugin's descriptor, read by the host.
        #[unsafe(no_mangle)]
        pub static STATICDL_PLUGIN: $crate::PluginDescriptor = {
            const EXPORTS: &[$crate::ExportDesc] = $crate::__staticdl_exports!(
                [] [$($($crate::__staticdl_handler!($hname, $($hfn)::+),)*)?] $($exports)*
            );
            const ROUTES: &[$crate::Route] = &[
                $($($crate::Route::new($method, $path, ::core::stringify!($route_handler)),)*)?
            ];
            const _: () = $crate::__private::check_tables(EXPORTS, ROUTES);

            unsafe extern "C" fn __staticdl_init(host: *const $crate::HostApi) -> i32 {
                let init: ::core::option::Option<$crate::__private::InitHook> =
                    $crate::__staticdl_option!($($init)?);
                // SAFETY: the host calls `init` once with its table, per the contract.
                unsafe { $crate::__private::run_init(host, init) }
            }

            unsafe extern "C" fn __staticdl_fini() {
                let fini: ::core::option::Option<fn()> = $crate::__staticdl_option!($($fini)?);
                $crate::__private::run_fini(fini)
            }

            $crate::PluginDescriptor::new(
                $name,
                $version,
                EXPORTS,
                ROUTES,
                ::core::option::Option::Some(__staticdl_init),
                ::core::option::Option::Some(__staticdl_fini),
            )
        };
    };
}

/// Collects export entries one at a time into `[ExportDesc, …]`.
#[doc(hidden)]
#[macro_export]
macro_rules! __staticdl_exports {
    ([$($done:tt)*] [$($handlers:tt)*] $(,)?) => {
        &[$($done)* $($handlers)*]
    };
    (
        [$($done:tt)*] [$($handlers:tt)*]
        $name:ident : fn $($f:ident)::+ ($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? $(= $fallback:expr)?
        $(, $($rest:tt)*)?
    ) => {
        $crate::__staticdl_exports!(
            [$($done)* $crate::__staticdl_export!(() $name ($($f)::+) ($($arg: $ty),*) ($($ret)?) ($($fallback)?)),]
            [$($handlers)*]
            $($($rest)*)?
        )
    };
    (
        [$($done:tt)*] [$($handlers:tt)*]
        $name:ident : unsafe fn $($f:ident)::+ ($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? $(= $fallback:expr)?
        $(, $($rest:tt)*)?
    ) => {
        $crate::__staticdl_exports!(
            [$($done)* $crate::__staticdl_export!((unsafe) $name ($($f)::+) ($($arg: $ty),*) ($($ret)?) ($($fallback)?)),]
            [$($handlers)*]
            $($($rest)*)?
        )
    };
}

/// One export: the wrapper function and its `ExportDesc`.
#[doc(hidden)]
#[macro_export]
macro_rules! __staticdl_export {
    (($($unsafe:tt)?) $name:ident ($($f:tt)*) ($($arg:ident : $ty:ty),*) ($($ret:ty)?) ($($fallback:expr)?)) => {{
        #[unsafe(export_name = ::core::stringify!($name))]
        $($unsafe)? extern "C" fn __staticdl_wrapper($($arg: $ty),*) -> $crate::__staticdl_ret!($($ret)?) {
            const FALLBACK: $crate::__staticdl_ret!($($ret)?) =
                $crate::__staticdl_fallback!(($crate::__staticdl_ret!($($ret)?)) $($fallback)?);
            // SAFETY: for an `unsafe fn` export, the host's call carries the Rust
            // function's contract; a safe export has no unsafe code here.
            let call = move || $($unsafe)? { $($f)*($($arg),*) };
            match $crate::__private::guard(::core::stringify!($name), call) {
                ::core::result::Result::Ok(value) => value,
                ::core::result::Result::Err(_) => FALLBACK,
            }
        }
        $crate::ExportDesc::new(
            ::core::stringify!($name),
            <$($unsafe)? extern "C" fn($($ty),*) -> $crate::__staticdl_ret!($($ret)?) as $crate::FnSignature>::SIGNATURE,
            __staticdl_wrapper as *const ::core::ffi::c_void,
        )
    }};
}

/// One handler export: the `HandlerFn` wrapper and its `ExportDesc`.
#[cfg(feature = "http")]
#[doc(hidden)]
#[macro_export]
macro_rules! __staticdl_handler {
    ($name:ident, $($f:tt)*) => {{
        #[unsafe(export_name = ::core::stringify!($name))]
        unsafe extern "C" fn __staticdl_wrapper(
            request: *const $crate::Request<'static>,
            response: *mut $crate::Response,
        ) -> i32 {
            // SAFETY: the host calls handlers with pointers valid for the call.
            unsafe { $crate::__private::run_handler(::core::stringify!($name), request, response, $($f)*) }
        }
        $crate::ExportDesc::new(
            ::core::stringify!($name),
            $crate::HANDLER_SIGNATURE,
            __staticdl_wrapper as *const ::core::ffi::c_void,
        )
    }};
}

/// Without the `http` feature there are no handler types: a `handlers:` section is
/// refused with a message saying what to turn on.
#[cfg(not(feature = "http"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __staticdl_handler {
    ($name:ident, $($f:tt)*) => {{
        ::core::compile_error!("plugin!: `handlers:` needs the `http` feature of staticdl-abi");
        $crate::ExportDesc::new("", "", ::core::ptr::null())
    }};
}

#[doc(hidden)]
#[macro_export]
macro_rules! __staticdl_ret {
    () => {
        ()
    };
    ($ret:ty) => {
        $ret
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __staticdl_fallback {
    (($ret:ty)) => {
        <$ret as $crate::AbiReturn>::PANIC_VALUE
    };
    (($ret:ty) $fallback:expr) => {
        $fallback
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __staticdl_option {
    () => {
        ::core::option::Option::None
    };
    ($f:path) => {
        ::core::option::Option::Some($f)
    };
}

/// What the macro expansion calls. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    use crate::descriptor::{
        ExportDesc, Route, INIT_BAD_HOST, INIT_FAILED, INIT_OK, INIT_PANICKED,
    };
    #[cfg(feature = "http")]
    use crate::handler::{Request, Response, HANDLER_BAD_ARGS};
    use crate::host::HostApi;
    #[cfg(feature = "http")]
    use crate::response::IntoResponse;
    use crate::signature::HANDLER_SIGNATURE;

    /// The Rust-side `init` hook.
    pub type InitHook = fn(&'static HostApi) -> Result<(), i32>;

    /// A caught panic.
    pub struct Panicked {
        #[cfg(feature = "std")]
        message: std::string::String,
    }

    impl Panicked {
        #[cfg_attr(not(feature = "http"), allow(dead_code))]
        fn message(&self) -> &str {
            #[cfg(feature = "std")]
            return &self.message;
            #[cfg(not(feature = "std"))]
            return "panicked";
        }
    }

    /// Runs `f`, catching a panic where `std` is available and logging it.
    #[cfg(feature = "std")]
    pub fn guard<R>(what: &str, f: impl FnOnce() -> R) -> Result<R, Panicked> {
        use std::panic::{catch_unwind, AssertUnwindSafe};
        // The wrapped function's state is not looked at again after a panic, except
        // by the plugin's next call, exactly as if the panic had been handled inside.
        catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
            let message = if let Some(text) = payload.downcast_ref::<&str>() {
                std::string::String::from(*text)
            } else if let Some(text) = payload.downcast_ref::<std::string::String>() {
                text.clone()
            } else {
                std::string::String::from("panic with a non-string payload")
            };
            // Dropping a payload can itself panic; such a payload is leaked instead.
            if catch_unwind(AssertUnwindSafe(move || drop(payload))).is_err() {
                crate::log::error("panic payload panicked while being dropped");
            }
            crate::log::error!("export `{what}` panicked: {message}");
            Panicked { message }
        })
    }

    /// Runs `f`. Without `std` there is nothing to catch (see the module docs).
    #[cfg(not(feature = "std"))]
    pub fn guard<R>(_what: &str, f: impl FnOnce() -> R) -> Result<R, Panicked> {
        Ok(f())
    }

    /// The generated `init`.
    ///
    /// # Safety
    /// As for [`crate::host::install`].
    pub unsafe fn run_init(host: *const HostApi, init: Option<InitHook>) -> i32 {
        // SAFETY: forwarded to the caller.
        let host = match unsafe { crate::host::install(host) } {
            Ok(host) => host,
            Err(_) => return INIT_BAD_HOST,
        };
        let Some(init) = init else {
            return INIT_OK;
        };
        match guard("init", || init(host)) {
            Ok(Ok(())) => INIT_OK,
            Ok(Err(0)) => INIT_FAILED,
            Ok(Err(code)) => code,
            Err(_) => INIT_PANICKED,
        }
    }

    /// The generated `fini`.
    pub fn run_fini(fini: Option<fn()>) {
        if let Some(fini) = fini {
            // A panic was logged by `guard`; there is no one to report it to.
            let _ = guard("fini", fini);
        }
    }

    /// A handler wrapper's body.
    ///
    /// # Safety
    /// `request` and `response`, if not null, must be valid for the call, `response`
    /// pointing to an initialised [`Response`].
    #[cfg(feature = "http")]
    pub unsafe fn run_handler<F, R>(
        what: &str,
        request: *const Request<'static>,
        response: *mut Response,
        f: F,
    ) -> i32
    where
        F: FnOnce(&Request<'_>) -> R,
        R: IntoResponse,
    {
        if request.is_null() || response.is_null() {
            return HANDLER_BAD_ARGS;
        }
        // SAFETY: non-null, and the caller vouches that both are valid for the call;
        // the request is only lent to `f` for the call.
        let (request, response) = unsafe { (&*request, &mut *response) };
        match guard(what, || f(request).write_into(response)) {
            Ok(code) => code,
            Err(panicked) => panic_response(response, panicked),
        }
    }

    #[cfg(feature = "http")]
    fn panic_response(response: &mut Response, panicked: Panicked) -> i32 {
        #[cfg(feature = "alloc")]
        let error = crate::HandlerError::with_message(
            500,
            alloc::format!("handler panicked: {}", panicked.message()),
        );
        #[cfg(not(feature = "alloc"))]
        let error = {
            let _ = panicked.message();
            crate::HandlerError::internal("handler panicked")
        };
        // Writing an error response does not panic short of running out of memory,
        // which aborts.
        error.write_into(response);
        crate::handler::HANDLER_PANICKED
    }

    const fn str_eq(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }

    /// Compile-time checks of the tables the macro builds.
    pub const fn check_tables(exports: &[ExportDesc], routes: &[Route]) {
        let mut i = 0;
        while i < exports.len() {
            // SAFETY: `AbiStr::new` of `stringify!` output: static UTF-8.
            let name = unsafe { exports[i].name.as_str_unchecked() };
            let mut j = 0;
            while j < i {
                // SAFETY: as above.
                if str_eq(name, unsafe { exports[j].name.as_str_unchecked() }) {
                    panic!("plugin!: two exports share a name");
                }
                j += 1;
            }
            i += 1;
        }
        let mut r = 0;
        while r < routes.len() {
            // SAFETY: `AbiStr::new` of `&'static str`s: static UTF-8.
            let (method, path, handler) = unsafe {
                (
                    routes[r].method.as_str_unchecked(),
                    routes[r].path.as_str_unchecked(),
                    routes[r].handler.as_str_unchecked(),
                )
            };
            if method.is_empty() {
                panic!("plugin!: a route has an empty method");
            }
            if path.is_empty() || path.as_bytes()[0] != b'/' {
                panic!("plugin!: a route path does not start with `/`");
            }
            let mut found = false;
            let mut e = 0;
            while e < exports.len() {
                // SAFETY: as above.
                let (name, signature) = unsafe {
                    (
                        exports[e].name.as_str_unchecked(),
                        exports[e].signature.as_str_unchecked(),
                    )
                };
                if str_eq(name, handler) && str_eq(signature, HANDLER_SIGNATURE) {
                    found = true;
                }
                e += 1;
            }
            if !found {
                panic!("plugin!: a route names a handler that is not in `handlers`");
            }
            r += 1;
        }
    }
}
