//! How `dlsym` learns of intercepted exports: a filter the facade installs.
//!
//! Owns [`set_export_filter`] and the filter `dlsym`/`dlvsym` pass every
//! address they hand out through (the identity until a filter is installed):
//! an export the facade traps (`staticdl::intercept::Exports`) is handed out as
//! its stub, as `Plugin::get` hands it out. It knows nothing of interceptors.

use std::sync::atomic::{AtomicPtr, Ordering};

/// The filter, or null.
static FILTER: AtomicPtr<()> = AtomicPtr::new(std::ptr::null_mut());

/// Makes `dlsym` and `dlvsym` hand out `filter(address)` for every address
/// they find, from now on (replacing any earlier filter).
///
/// ```
/// fn same(addr: usize) -> usize { addr }
/// staticdl_libc::set_export_filter(same);
/// ```
pub fn set_export_filter(filter: fn(usize) -> usize) {
    FILTER.store(filter as *mut (), Ordering::Release);
}

/// What `dlsym` hands out for `addr`.
pub(crate) fn exported(addr: usize) -> usize {
    let f = FILTER.load(Ordering::Acquire);
    if f.is_null() {
        return addr;
    }
    // SAFETY: only `set_export_filter` stores here, always a `fn(usize) -> usize`.
    #[allow(unsafe_code)]
    let f: fn(usize) -> usize = unsafe { std::mem::transmute::<*mut (), fn(usize) -> usize>(f) };
    f(addr)
}
