//! `staticdl-abi`: the plugin side of the staticdl contract.
//!
//! A plugin (a Rust `cdylib`, `#![no_std]` or not, or a C shared object using
//! `include/staticdl.h`) links this crate to declare itself; the host (`staticdl`)
//! uses the same types to read that declaration. The crate never depends on the
//! loader.
//!
//! Owns: the `#[repr(C)]` types that cross the boundary and their layout, the
//! canonical function signatures, the [`plugin!`] macro, the host API table and the
//! bridges built on it (allocator, logging), and — with the `http` feature — the
//! HTTP handler contract. Does not own: loading, symbol lookup or the plugin
//! registry — those are the loader's and the facade's.
//!
//! # The contract in one picture
//!
//! ```text
//! plugin                                          host
//! STATICDL_PLUGIN: PluginDescriptor  ───────────► lookup("STATICDL_PLUGIN")
//!   magic "staticdl", abi_version, size           PluginDescriptor::from_ptr / validate
//!   name, version
//!   exports: [ExportDesc { name, signature, addr }]   Export::get::<F>() checks
//!   init(host) ◄────────── &HostApi ────────────── call once, before any export
//!   fini()                                        call once, before unloading
//!   routes: [Route { method, path, handler }]     mounted by the HTTP server
//! handler(&Request, &mut Response) -> i32 ◄────── call_handler → Reply (releases)
//! ```
//!
//! The full contract — every field, the versioning rule, memory ownership and the
//! panic policy — is in the crate's `README.md`, and the C mirror in
//! `include/staticdl.h`.
//!
//! # Features
//!
//! * `std` (default): export wrappers catch panics with `catch_unwind`. Implies
//!   `alloc`.
//! * `alloc`: with `http`, [`ResponseBuilder`] and owned [`HandlerError`]
//!   messages.
//! * `http` (off by default): the HTTP handler contract — [`Request`],
//!   [`Response`], [`Header`], [`HandlerFn`], [`call_handler`] / [`Reply`], the
//!   plugin side ([`IntoResponse`], [`StaticResponse`], [`HandlerError`]) and the
//!   `handlers:` section of [`plugin!`]. The descriptor's `routes` table and
//!   [`HANDLER_SIGNATURE`] are part of the core layout either way, so a host without
//!   the feature still reads and checks every descriptor; the C header always
//!   declares the handler types.
//!
//! With none of them, the crate needs only `core`; `#![no_std]` plugins use
//! `default-features = false` (plus `alloc` together with [`HostAllocator`], and
//! `http` for handlers).
//!
//! # Example
//!
//! ```
//! use staticdl_abi::{Request, StaticResponse};
//!
//! fn add(a: i32, b: i32) -> i32 {
//!     a + b
//! }
//!
//! fn ping(_req: &Request<'_>) -> StaticResponse {
//!     StaticResponse::new(200, b"pong")
//! }
//!
//! staticdl_abi::plugin! {
//!     name: "demo",
//!     version: "0.1.0",
//!     exports: { demo_add: fn add(a: i32, b: i32) -> i32 },
//!     handlers: { demo_ping: ping },
//!     routes: [("GET", "/ping", demo_ping)],
//! }
//!
//! # fn main() {
//! // What a host does with it:
//! // SAFETY: the descriptor is a static of this program, and its exports live forever.
//! let info = unsafe { STATICDL_PLUGIN.validate() }.unwrap();
//! let add = unsafe { info.export("demo_add").unwrap().get::<extern "C" fn(i32, i32) -> i32>() }.unwrap();
//! assert_eq!(add(2, 3), 5);
//! # }
//! ```

#![no_std]
#![deny(unsafe_code, unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, clippy::undocumented_unsafe_blocks)]
// Docs mention `ResponseBuilder` and the handler types, which only exist with
// `alloc` and `http`.
#![cfg_attr(
    not(all(feature = "alloc", feature = "http")),
    allow(rustdoc::broken_intra_doc_links)
)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

mod allocator;
#[doc(hidden)]
pub mod c_layout;
mod descriptor;
mod export;
mod ffi;
#[cfg(feature = "http")]
mod handler;
pub mod host;
mod info;
pub mod log;
#[cfg(feature = "http")]
mod response;
pub mod signature;
mod validate;

#[cfg(all(test, feature = "http"))]
mod plugin_tests;
#[cfg(test)]
mod testing;

#[doc(hidden)]
pub use export::__private;

pub use allocator::HostAllocator;
pub use descriptor::{
    ExportDesc, FiniFn, InitFn, PluginDescriptor, Route, ABI_VERSION, DESCRIPTOR_SYMBOL,
    INIT_BAD_HOST, INIT_FAILED, INIT_OK, INIT_PANICKED, MAGIC,
};
pub use ffi::{AbiSlice, AbiStr, Bytes, SyncPtr};
#[cfg(feature = "http")]
pub use handler::{
    call_handler, HandlerFn, Header, ReleaseFn, Reply, Request, Response, HANDLER_BAD_ARGS,
    HANDLER_ERROR, HANDLER_OK, HANDLER_PANICKED,
};
pub use host::{
    host, AllocFn, DeallocFn, HostApi, HostError, LogFn, LogLevel, ReallocFn, HOST_API_MIN_SIZE,
};
pub use info::{Export, PluginInfo, RouteInfo};
#[cfg(all(feature = "http", feature = "alloc"))]
pub use response::ResponseBuilder;
#[cfg(feature = "http")]
pub use response::{HandlerError, IntoResponse, StaticResponse};
pub use signature::{
    check_signature, compare_signatures, signature_of, AbiPointee, AbiReturn, AbiType, Difference,
    FnSignature, Signature, SignatureError, SignatureMismatch, SignatureProblem, HANDLER_SIGNATURE,
    SIGNATURE_MAX,
};
pub use validate::{DescriptorError, DESCRIPTOR_MIN_SIZE};

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}
