//! The allocator bridge: a `GlobalAlloc` that forwards to the host API table.
//!
//! Owns: [`HostAllocator`]. Does not own: the table or the slot it is read from
//! (`host.rs`).
//!
//! Unsafe code is allowed in this module: it implements `GlobalAlloc` over the host
//! table's allocation functions.
#![allow(unsafe_code)]

use core::alloc::{GlobalAlloc, Layout};

use crate::host::host;

/// A global allocator that forwards every call to the [`HostApi`](crate::HostApi)
/// table installed by the plugin's `init`.
///
/// With it, a `#![no_std]` plugin can use `alloc` (`Vec`, `String`, `Box`,
/// [`ResponseBuilder`](crate::ResponseBuilder)) and every block it hands out comes
/// from the host's allocator, so memory that changes hands is freed by the allocator
/// that made it.
///
/// Before `init` has run (or when the host offers no `alloc`) every allocation
/// fails, which ends in `alloc::alloc::handle_alloc_error`. Plugins therefore must not
/// allocate from ELF constructors (`DT_INIT_ARRAY`), which run before `init`.
///
/// ```no_run
/// // In a `#![no_std]` plugin:
/// #[global_allocator]
/// static ALLOC: staticdl_abi::HostAllocator = staticdl_abi::HostAllocator;
/// # fn main() {}
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct HostAllocator;

// SAFETY: every method forwards to the host's allocator with the caller's size and
// alignment unchanged, so the `GlobalAlloc` contract is the host's `alloc`/`dealloc`/
// `realloc` contract (documented on `AllocFn` and friends), which the host vouched
// for when it installed the table. Without a table, `alloc` returns null, which is a
// permitted outcome, and the other methods are only reachable for blocks that a
// table handed out.
unsafe impl GlobalAlloc for HostAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match host().and_then(|h| h.alloc_fn()) {
            // SAFETY: `layout` has a non-zero size and a power-of-two alignment, as the
            // host's `alloc` requires.
            Some(alloc) => unsafe { alloc(layout.size(), layout.align()) },
            None => core::ptr::null_mut(),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Without a `dealloc` the block cannot be returned and is leaked; a host that
        // offers `alloc` offers `dealloc` too.
        if let Some(dealloc) = host().and_then(|h| h.dealloc_fn()) {
            // SAFETY: the caller passes a block this allocator returned, with the
            // layout it was allocated with.
            unsafe { dealloc(ptr, layout.size(), layout.align()) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if let Some(realloc) = host().and_then(|h| h.realloc_fn()) {
            // SAFETY: the caller passes a block this allocator returned with its
            // layout, and a non-zero `new_size` that keeps the layout valid.
            return unsafe { realloc(ptr, layout.size(), layout.align(), new_size) };
        }
        // SAFETY: the caller guarantees `new_size` with `layout.align()` is a valid
        // layout (the `GlobalAlloc::realloc` contract).
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: `new_layout` has a non-zero size.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are live, distinct, and at least `min` bytes long;
            // the old one is freed with the layout it was allocated with.
            unsafe {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, FakeHost, TABLE_NO_REALLOC};

    const SMALL: Layout = match Layout::from_size_align(24, 8) {
        Ok(layout) => layout,
        Err(_) => panic!("valid layout"),
    };

    #[test]
    fn forwards_every_call_to_the_host_table() {
        let _host = FakeHost::install();
        // SAFETY: each block is used within its size and freed once with its layout.
        unsafe {
            let p = HostAllocator.alloc(SMALL);
            assert!(!p.is_null());
            p.write_bytes(7, SMALL.size());
            let p = HostAllocator.realloc(p, SMALL, 100);
            assert!(!p.is_null());
            assert_eq!(*p.add(SMALL.size() - 1), 7);
            HostAllocator.dealloc(p, Layout::from_size_align(100, 8).unwrap());
        }
        assert_eq!(testing::counts(), (1, 1, 1));
    }

    #[test]
    fn realloc_without_host_realloc_moves_the_block() {
        let _host = FakeHost::install_table(&TABLE_NO_REALLOC);
        // SAFETY: as above.
        unsafe {
            let p = HostAllocator.alloc(SMALL);
            p.write_bytes(9, SMALL.size());
            let p = HostAllocator.realloc(p, SMALL, 64);
            assert_eq!(core::slice::from_raw_parts(p, SMALL.size()), &[9; 24]);
            HostAllocator.dealloc(p, Layout::from_size_align(64, 8).unwrap());
        }
        assert_eq!(testing::counts(), (2, 2, 0));
    }

    #[test]
    fn without_a_host_every_allocation_fails() {
        let _host = FakeHost::lock();
        crate::host::clear();
        // SAFETY: a null result is not used.
        assert!(unsafe { HostAllocator.alloc(SMALL) }.is_null());
        assert_eq!(testing::counts(), (0, 0, 0));
    }
}
