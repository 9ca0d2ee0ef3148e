//! Test support: a fake host table that counts allocator calls and records log
//! messages, and the lock that serialises tests touching the plugin-global host slot.
//!
//! Unsafe code is allowed in this module: the helpers stand in for a host, calling
//! exports and release functions through raw pointers.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::string::String;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::vec::Vec;

use crate::host::{self, HostApi};

static LOCK: Mutex<()> = Mutex::new(());
static LOGS: Mutex<Vec<(u32, String)>> = Mutex::new(Vec::new());

/// Calls made through the fake table since the last `FakeHost::install`.
pub static ALLOCS: AtomicUsize = AtomicUsize::new(0);
/// See [`ALLOCS`].
pub static DEALLOCS: AtomicUsize = AtomicUsize::new(0);
/// See [`ALLOCS`].
pub static REALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn log(level: u32, message: *const u8, len: usize) {
    // SAFETY: the log contract: `len` readable bytes of UTF-8 for the call.
    let bytes = unsafe { std::slice::from_raw_parts(message, len) };
    let text = String::from_utf8(bytes.to_vec()).expect("log messages are UTF-8");
    LOGS.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((level, text));
}

unsafe extern "C" fn alloc(size: usize, align: usize) -> *mut u8 {
    ALLOCS.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the alloc contract: a valid, non-zero-sized layout.
    unsafe { System.alloc(Layout::from_size_align_unchecked(size, align)) }
}

unsafe extern "C" fn dealloc(ptr: *mut u8, size: usize, align: usize) {
    DEALLOCS.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the dealloc contract: a block from `alloc` with its layout.
    unsafe { System.dealloc(ptr, Layout::from_size_align_unchecked(size, align)) }
}

unsafe extern "C" fn realloc(ptr: *mut u8, size: usize, align: usize, new_size: usize) -> *mut u8 {
    REALLOCS.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the realloc contract: a block from `alloc` with its layout.
    unsafe {
        System.realloc(
            ptr,
            Layout::from_size_align_unchecked(size, align),
            new_size,
        )
    }
}

/// A table with every entry.
pub static TABLE: HostApi =
    HostApi::new()
        .with_log(log)
        .with_allocator(alloc, dealloc, Some(realloc));
/// A table without `realloc`.
pub static TABLE_NO_REALLOC: HostApi = HostApi::new()
    .with_log(log)
    .with_allocator(alloc, dealloc, None);

/// Holds the lock for one test; the fake table stays installed afterwards.
pub struct FakeHost {
    _lock: MutexGuard<'static, ()>,
}

impl FakeHost {
    /// Locks, resets the counters and logs, and installs [`TABLE`].
    pub fn install() -> Self {
        Self::install_table(&TABLE)
    }

    /// Locks, resets the counters and logs, and installs `table`.
    pub fn install_table(table: &'static HostApi) -> Self {
        let lock = Self::lock();
        // SAFETY: `table` is a valid static table.
        unsafe { host::install(table) }.expect("fake table is valid");
        lock
    }

    /// Locks and resets the counters and logs without installing anything.
    pub fn lock() -> Self {
        let lock = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        for counter in [&ALLOCS, &DEALLOCS, &REALLOCS] {
            counter.store(0, Ordering::SeqCst);
        }
        LOGS.lock().unwrap_or_else(|e| e.into_inner()).clear();
        Self { _lock: lock }
    }
}

/// The messages logged since the last reset, with their levels.
pub fn take_logs() -> Vec<(u32, String)> {
    std::mem::take(&mut *LOGS.lock().unwrap_or_else(|e| e.into_inner()))
}

/// `(allocs, deallocs, reallocs)` since the last reset.
pub fn counts() -> (usize, usize, usize) {
    (
        ALLOCS.load(Ordering::SeqCst),
        DEALLOCS.load(Ordering::SeqCst),
        REALLOCS.load(Ordering::SeqCst),
    )
}
