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
//! What it keeps from Go's `plugin` package: one load per file however it is
//! named, initialisation exactly once even under concurrent opens, and typed
//! lookups. What it changes: plugins unload when the last handle goes (opt out
//! with [`OpenOptions::keep_loaded`]), failures are remembered but can be
//! forgotten ([`forget_failure`]), and lookups of declared functions check their
//! signatures.
//!
//! Opening a plugin runs its code; only open files you trust. The safe API
//! ([`Plugin::get`], [`Plugin::call_handler`]) trusts the plugin's declarations
//! about its own functions.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod descriptor;
mod error;
mod host;
mod options;
mod path;
mod plugin;
mod registry;
mod symbol;

pub use descriptor::{Descriptor, ExportDecl, RouteDecl};
pub use error::{Error, OpenError};
pub use host::{reset_log_handler, set_log_handler};
pub use options::OpenOptions;
pub use plugin::Plugin;
pub use registry::forget_failure;
pub use staticdl_loader::runtime::process_args;
pub use symbol::{Reply, Symbol};

/// The plugin side of the contract (descriptor, signatures, host table, handler
/// types), re-exported for hosts.
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
    send_sync::<Symbol<'static, extern "C" fn(i32, i32) -> i32>>();
    send_sync::<Reply<'static>>();
};

/// The README's Rust examples, compiled as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
