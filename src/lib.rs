//! `staticdl`: `dlopen` for static binaries, in pure Rust.
//!
//! Opens ELF shared objects — C libraries and plugins built against the
//! [`staticdl-abi`](abi) contract — from any process, including fully static musl
//! binaries that have no libc loader at all. This crate is the facade: a typed,
//! thread-safe API over the loader ([`loader`]) with a process-wide registry.
//!
//! ```no_run
//! use staticdl::Plugin;
//!
//! let plugin = Plugin::open("/opt/plugins/libhello.so")?;
//! if let Some(d) = plugin.descriptor() {
//!     println!("loaded {} {}", d.name(), d.version());
//! }
//! // Declared in the plugin's descriptor: the signature is checked, no `unsafe`.
//! let add = plugin.get::<extern "C" fn(i32, i32) -> i32>("add")?;
//! assert_eq!(add.call(2, 3), 5);
//! // Any C symbol: the caller vouches for its type.
//! // SAFETY: `hello_version` is `const char *hello_version(void)`.
//! let version = unsafe { plugin.symbol::<extern "C" fn() -> *const std::ffi::c_char>("hello_version")? };
//! drop(version);
//! plugin.close(); // last handle: fini runs, the object is unmapped
//! # Ok::<(), staticdl::Error>(())
//! ```
//!
//! Before opening, [`OpenOptions::check`] (or [`Plugin::check`]) tells what the
//! open would do, found by a dry run that maps and relocates the objects in this
//! process's namespace without running any of their code: the verdict with the
//! very error the open would return, every object of the load, where each import
//! binds and what nothing provides.
//!
//! What it keeps from Go's `plugin` package: one load per file however it is
//! named, initialisation exactly once even under concurrent opens, and typed
//! lookups. What it changes: plugins unload when the last handle goes (opt out
//! with [`OpenOptions::keep_loaded`]), failures are remembered but can be
//! forgotten ([`forget_failure`]), and lookups of declared functions check their
//! signatures.
//!
//! # Trust
//!
//! Opening a plugin runs its code (ELF initialisers, the descriptor's `init`) and
//! takes its descriptor's declarations as true: only open files you trust, as you
//! would only run programs you trust. That trust is the caller's whole part, and
//! no check can stand in for it, so [`Plugin::open`] is safe, like
//! `std::process::Command::spawn`.
//!
//! staticdl's part, which safe code can rely on:
//! - it never calls unmapped code: functions are called through a [`Symbol`]
//!   (`symbol.call(..)`), which borrows its [`Plugin`], so the plugin cannot be
//!   unloaded during or before the call; no function pointer leaves a `Symbol`
//!   without `unsafe` ([`Symbol::as_raw`]);
//! - typed lookups ([`Plugin::get`], and `Plugin::call_handler` with the `http`
//!   feature) are checked against the signature the plugin declared for the
//!   export, and refused on any difference;
//! - a hostile or broken file is refused with an error, never half loaded.
//!
//! Lookups of plain C symbols, with no declaration to check against, are `unsafe`
//! ([`Plugin::symbol`]): there the caller vouches for the type.
//!
//! # Features
//!
//! - `libc` (default): the libc provider (`staticdl::provider`): glibc's library names
//!   answered by the host's own C library, `dlopen` for plugins.
//! - `http`: the HTTP handler contract ([`abi`]'s `http` feature),
//!   `Plugin::call_handler` and `Reply`.

#![deny(unsafe_code, unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, clippy::undocumented_unsafe_blocks)]

mod check;
mod descriptor;
mod error;
mod host;
#[cfg(feature = "http")]
mod http;
pub mod intercept;
mod open;
mod options;
mod plugin;
pub mod preload;
mod registry;
mod symbol;

pub use check::{CheckedObject, DescriptorCheck, MissingImport, NeededBy, Report};
pub use descriptor::{Descriptor, ExportDecl, RouteDecl};
pub use error::{Error, OpenError};
pub use host::{reset_log_handler, set_log_handler};
#[cfg(feature = "http")]
pub use http::Reply;
pub use open::forget_failure;
pub use options::OpenOptions;
pub use plugin::Plugin;
pub use staticdl_loader::runtime::process_args;
pub use symbol::Symbol;

/// The plugin side of the contract (descriptor, signatures, host table; handler
/// types with the `http` feature), re-exported for hosts.
///
/// ```
/// assert_eq!(staticdl::abi::DESCRIPTOR_SYMBOL, "STATICDL_PLUGIN");
/// ```
pub use staticdl_abi as abi;
/// The libc provider (feature `libc`, on by default): glibc's library names
/// answered by the host's own C library, `dlopen` for plugins, and the process
/// namespace the facade loads into.
///
/// ```
/// use staticdl::loader::LibraryProvider;
/// assert!(staticdl::provider::LibcProvider.provide("libc.so.6").is_some());
/// ```
#[cfg(feature = "libc")]
pub use staticdl_libc as provider;
/// The loader underneath, for what the facade does not wrap.
///
/// ```
/// let opts = staticdl::loader::LoadOptions::new().run_code(false);
/// assert!(!opts.run_code);
/// ```
pub use staticdl_loader as loader;

pub use staticdl_abi::LogLevel;
pub use staticdl_loader::{LibraryProvider, Limits, ProcessArgs, SymbolName, SymbolSource};

/// Compile-time proof of the thread-safety the API promises.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Plugin>();
    send_sync::<OpenOptions>();
    send_sync::<Error>();
    send_sync::<Descriptor>();
    send_sync::<Report>();
    send_sync::<Symbol<'static, extern "C" fn(i32, i32) -> i32>>();
    #[cfg(feature = "http")]
    send_sync::<Reply<'static>>();
};

/// The README's Rust examples, compiled as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
