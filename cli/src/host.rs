//! What the `staticdl` command offers the objects it loads: the C memory
//! functions that compilers emit calls to even in code that uses no C library
//! (`memcpy`, `memmove`, `memset`, `memcmp`, `bcmp`, `strlen`), taken from the C
//! library this executable is linked with. A libc-free Rust `cdylib` typically
//! imports exactly these.
//!
//! Owns [`symbols`], [`provides`] and [`options`], the one set of open options
//! every command starts from, so that what `inspect` and `check` report is what
//! `call` gets. It offers nothing else: an object that needs more of a C library
//! states it with `DT_NEEDED`.

use std::ffi::{c_char, c_int, c_void};

use staticdl::OpenOptions;

extern "C" {
    fn memcpy(dst: *mut c_void, src: *const c_void, n: usize) -> *mut c_void;
    fn memmove(dst: *mut c_void, src: *const c_void, n: usize) -> *mut c_void;
    fn memset(dst: *mut c_void, c: c_int, n: usize) -> *mut c_void;
    fn memcmp(a: *const c_void, b: *const c_void, n: usize) -> c_int;
    fn bcmp(a: *const c_void, b: *const c_void, n: usize) -> c_int;
    fn strlen(s: *const c_char) -> usize;
}

/// The address of the host function `name`, if this host offers it.
pub fn provides(name: &[u8]) -> Option<usize> {
    let addr = match name {
        b"memcpy" => memcpy as *const () as usize,
        b"memmove" => memmove as *const () as usize,
        b"memset" => memset as *const () as usize,
        b"memcmp" => memcmp as *const () as usize,
        b"bcmp" => bcmp as *const () as usize,
        b"strlen" => strlen as *const () as usize,
        _ => return None,
    };
    Some(addr)
}

/// [`provides`] as a loader symbol source (any version).
pub fn symbols(name: &[u8], _version: Option<&[u8]>) -> Option<usize> {
    provides(name)
}

/// The options every command opens (and checks) with: `Plugin::open`'s defaults,
/// the libc provider included, and this host's memory functions. `call` adds
/// its policy for unresolved functions and its preloads to these, and nothing
/// else.
pub fn options() -> OpenOptions {
    OpenOptions::new().host_symbols(symbols)
}
