//! What the server offers the plugins it loads, beyond the host API table that
//! `staticdl` hands every plugin's `init`: the options every plugin is opened
//! with.
//!
//! Owns the host symbol resolver (the C memory and string primitives that
//! `#![no_std]` Rust and `-nostdlib` C plugins import, answered from the
//! server's own static libc) and where dependencies are searched. It does not
//! load anything (`plugins.rs` does).

use std::ffi::{c_char, c_int, c_void};
use std::path::PathBuf;

use staticdl::OpenOptions;

// The server's own libc (musl, linked statically) defines these.
extern "C" {
    fn memcpy(dest: *mut c_void, src: *const c_void, n: usize) -> *mut c_void;
    fn memmove(dest: *mut c_void, src: *const c_void, n: usize) -> *mut c_void;
    fn memset(dest: *mut c_void, c: c_int, n: usize) -> *mut c_void;
    fn memcmp(a: *const c_void, b: *const c_void, n: usize) -> c_int;
    fn bcmp(a: *const c_void, b: *const c_void, n: usize) -> c_int;
    fn strlen(s: *const c_char) -> usize;
}

type Copy = unsafe extern "C" fn(*mut c_void, *const c_void, usize) -> *mut c_void;
type Fill = unsafe extern "C" fn(*mut c_void, c_int, usize) -> *mut c_void;
type Compare = unsafe extern "C" fn(*const c_void, *const c_void, usize) -> c_int;
type Length = unsafe extern "C" fn(*const c_char) -> usize;

/// The address of the host primitive called `name`, if the server offers one.
///
/// Compilers emit calls to these even in code that uses no libc (struct
/// copies, zeroing, slice comparison), so a plugin built without libc imports
/// them; one linked against glibc gets them from the libc provider first.
pub fn primitive(name: &[u8]) -> Option<usize> {
    Some(match name {
        b"memcpy" => memcpy as Copy as usize,
        b"memmove" => memmove as Copy as usize,
        b"memset" => memset as Fill as usize,
        b"memcmp" => memcmp as Compare as usize,
        b"bcmp" => bcmp as Compare as usize,
        b"strlen" => strlen as Length as usize,
        _ => return None,
    })
}

/// The options every plugin is opened with.
///
/// Dependencies are searched in `lib_paths` and never in the system
/// directories: the server is a static executable, possibly in a container with
/// no libraries at all, and a build machine's glibc must never be mapped next
/// to its own C library. A plugin that needs glibc (`libc.so.6`,
/// `libgcc_s.so.1`, `ld-linux-x86-64.so.2`, ...) gets the server's own musl
/// functions under their glibc names from staticdl's libc provider.
pub fn open_options(lib_paths: &[PathBuf]) -> OpenOptions {
    let mut options = OpenOptions::new()
        .system_dirs(false)
        .provider(staticdl::provider::LibcProvider)
        .host_symbols(|name: &[u8], _version: Option<&[u8]>| primitive(name));
    for dir in lib_paths {
        options = options.search_path(dir);
    }
    options
}

#[cfg(test)]
#[allow(unsafe_code)] // calls the primitive through the address it answers
mod tests {
    use super::*;

    #[test]
    fn offers_the_memory_primitives() {
        let copy = primitive(b"memcpy").unwrap();
        // SAFETY: `primitive` answered the address of musl's `memcpy`.
        let copy: Copy = unsafe { std::mem::transmute::<usize, Copy>(copy) };
        let (src, mut dst) = ([1u8, 2, 3], [0u8; 3]);
        // SAFETY: both buffers are 3 bytes and do not overlap.
        unsafe { copy(dst.as_mut_ptr().cast(), src.as_ptr().cast(), 3) };
        assert_eq!(dst, src);
        assert!(primitive(b"malloc").is_none());
    }
}
