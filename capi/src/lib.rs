//! `staticdl-capi`: `libstaticdl.a`, staticdl for C, C++ and Go hosts.
//!
//! A static C, C++ or cgo Go program that links this archive gets two things:
//!
//! - the host API of `include/staticdl.h` (`staticdl_open`, `staticdl_sym`,
//!   `staticdl_vsym`, `staticdl_close`, `staticdl_error`, `staticdl_info`,
//!   `staticdl_preload`, `staticdl_export_symbol`, `staticdl_forget_failure`,
//!   `staticdl_linked_first`), a thin layer over the facade's `Plugin::open`
//!   and its registry;
//! - a drop-in `<dlfcn.h>`: `dlopen`, `dlsym`, `dlvsym`, `dlclose`, `dlerror`,
//!   `dladdr`, `dladdr1` and `dlinfo` defined strongly (`c/dlfcn.c`), and the
//!   provider's `dl_iterate_phdr`, the complete set musl's static C library
//!   would otherwise answer with its "Dynamic loading not supported" stubs. An
//!   unchanged program that calls `dlopen` works when linked with `-lstaticdl`
//!   before the C library; linked after it, it silently keeps musl's stubs,
//!   which `staticdl_linked_first()` reports at run time.
//!
//! Both share one handle table and the process namespace plugins' own `dlopen`
//! uses, so an object is loaded and initialised once however it is opened.
//! Initialisers get the process's real `argc`/`argv`/`envp` (the kernel's own
//! arrays, recovered from `environ`). The `<dlfcn.h>` names exist only in the
//! archive built for a musl target, which a C host links on purpose: the Rust
//! crates keep their rule of defining no C library name they do not have to.
//!
//! Owns nothing of the loading itself. Modules: `host_api` (the `staticdl_*`
//! calls), `dlfcn` and `address` (the `<dlfcn.h>` calls), `open` and `search`
//! (how objects are opened and bare names found), `table` (handles),
//! `exports` (host exports), `preload`, `message` and `wording` (errors in the
//! facade's and glibc's words). How to build and link it: `capi/install.sh`
//! and the repository README's "From C and Go".
//!
//! The crate is only a static library: its entry points are C functions, shown
//! with C examples (no Rust doc tests); `tests/capi` links the archive into C,
//! C++, Go and Lua programs and checks them against glibc.

#![deny(unsafe_code, unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, clippy::undocumented_unsafe_blocks)]

mod address;
mod dlfcn;
mod exports;
mod host_api;
mod message;
mod open;
mod preload;
mod search;
mod table;
mod wording;

pub use address::{staticdl_capi_dladdr, staticdl_capi_dlinfo};
pub use dlfcn::{
    staticdl_capi_dlclose, staticdl_capi_dlerror, staticdl_capi_dlopen, staticdl_capi_dlsym,
};
pub use host_api::{
    staticdl_close, staticdl_error, staticdl_export_symbol, staticdl_forget_failure, staticdl_info,
    staticdl_open, staticdl_preload, staticdl_sym, staticdl_vsym, ObjectInfo,
};

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// `p` as a C string, or `None` if it is null.
///
/// # Safety
/// `p` is null or points at a NUL-terminated string that outlives `'a`.
#[allow(unsafe_code)] // reads a caller's C string: the one way C arguments come in
unsafe fn c_str<'a>(p: *const c_char) -> Option<&'a CStr> {
    // SAFETY: the caller's contract.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) })
}

/// Runs `f`; a panic (a bug, never bad input) becomes `fallback` and a
/// message, and never unwinds into the C caller.
fn guarded<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        message::fail_both("staticdl: internal error (a panic was caught)");
        fallback
    })
}
