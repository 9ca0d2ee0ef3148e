//! The allocator bridge: a `GlobalAlloc` that forwards to the host API table.
//!
//! Owns: [`HostAllocator`]. Does not own: the table or the slot it is read from
//! (`host.rs`).

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
