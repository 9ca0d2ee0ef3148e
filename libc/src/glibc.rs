//! Small glibc-only entry points written in Rust: the library's identification,
//! `__libc_single_threaded`, and the allocator tuning calls musl does not have.
//!
//! Owns only these answers; the C-ABI pieces that need variadic forwarding live
//! in `c/`, the registries in `cxa.rs`, the loader interface in `dl.rs`.

use std::ffi::{c_char, c_int};
use std::sync::atomic::AtomicU8;

/// The glibc version this provider claims, from `gnu_get_libc_version`.
///
/// It is the glibc ABI level the provider's table was written and checked
/// against (Debian 12's glibc 2.36: every name it answers exists there with the
/// ABI the host function has), not the version of any glibc on the machine,
/// which the static host never uses. Code that compares versions to pick a
/// code path (Rust's std does, for `posix_spawn`) gets a stable answer.
pub const CLAIMED_GLIBC_VERSION: &str = "2.36";

/// `const char *gnu_get_libc_version(void)`.
pub(super) extern "C" fn gnu_get_libc_version() -> *const c_char {
    c"2.36".as_ptr()
}

/// `const char *gnu_get_libc_release(void)`.
pub(super) extern "C" fn gnu_get_libc_release() -> *const c_char {
    c"stable".as_ptr()
}

/// `char __libc_single_threaded` (glibc 2.32): always 0, "maybe several
/// threads", which is always a correct answer (libstdc++ then keeps using
/// atomic reference counts). Only libc may write it; plugins read it.
pub(super) static LIBC_SINGLE_THREADED: AtomicU8 = AtomicU8::new(0);

/// `int mallopt(int, int)`: the host's allocator has no such knobs; 0 reports
/// that the parameter was not applied, as glibc does for an unknown one.
pub(super) extern "C" fn mallopt(_param: c_int, _value: c_int) -> c_int {
    0
}

/// `int malloc_trim(size_t)`: 0, "no memory was returned to the system".
pub(super) extern "C" fn malloc_trim(_pad: usize) -> c_int {
    0
}

#[cfg(test)]
#[allow(unsafe_code)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn the_version_string_matches_the_constant() {
        // SAFETY: returns a static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(gnu_get_libc_version()) };
        assert_eq!(v.to_str().unwrap(), CLAIMED_GLIBC_VERSION);
    }
}
