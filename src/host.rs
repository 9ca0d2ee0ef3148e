//! What the host offers plugins: the loader namespace they live in and the host
//! API table (logging, the allocator bridge).
//!
//! Owns [`namespace`] (the process namespace of the libc provider when that
//! feature is on, so plugins' own `dlopen` shares it; a namespace of the facade's
//! own otherwise), the `static` [`HostApi`] table handed to every plugin's `init`
//! and the log sink behind it ([`set_log_handler`]). It does not decide what to
//! load or when (the registry does) or read descriptors (`descriptor.rs`).
//!
//! Unsafe code is allowed in this module: the host table's entries are C functions
//! called by plugins with their own pointers (log messages, the allocator bridge).
#![allow(unsafe_code)]

use std::alloc::Layout;
use std::sync::{Arc, RwLock};

use staticdl_abi::{HostApi, LogLevel};
use staticdl_loader::Namespace;

/// The namespace every plugin opened through the facade is loaded into: the libc
/// provider's process namespace, which plugins' `dlopen` calls share.
#[cfg(feature = "libc")]
pub(crate) fn namespace() -> &'static Namespace {
    staticdl_libc::namespace()
}

/// The namespace every plugin opened through the facade is loaded into.
#[cfg(not(feature = "libc"))]
pub(crate) fn namespace() -> &'static Namespace {
    static NS: Namespace = Namespace::new();
    &NS
}

/// The table every plugin's `init` receives. A `static`, so it outlives every
/// plugin, as the contract requires.
pub(crate) static HOST_API: HostApi =
    HostApi::new()
        .with_log(host_log)
        .with_allocator(host_alloc, host_dealloc, Some(host_realloc));

type LogHandler = Arc<dyn Fn(LogLevel, &str) + Send + Sync>;

static LOG_HANDLER: RwLock<Option<LogHandler>> = RwLock::new(None);

/// Sends what plugins log (through their host table) to `handler` instead of
/// standard error. Applies to every plugin, loaded already or later.
///
/// Messages carry no plugin name: the table is shared, so a plugin that wants to
/// be recognised prefixes its messages.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use staticdl::LogLevel;
///
/// let seen: Arc<Mutex<Vec<String>>> = Arc::default();
/// let sink = seen.clone();
/// staticdl::set_log_handler(move |level, msg| {
///     if level <= LogLevel::Warn {
///         sink.lock().unwrap().push(msg.to_string());
///     }
/// });
/// # staticdl::reset_log_handler();
/// ```
pub fn set_log_handler(handler: impl Fn(LogLevel, &str) + Send + Sync + 'static) {
    let mut slot = LOG_HANDLER.write().unwrap_or_else(|e| e.into_inner());
    *slot = Some(Arc::new(handler));
}

/// Sends plugin log messages to standard error again (the default), as
/// `[plugin LEVEL] message` lines.
///
/// ```
/// staticdl::reset_log_handler();
/// ```
pub fn reset_log_handler() {
    let mut slot = LOG_HANDLER.write().unwrap_or_else(|e| e.into_inner());
    *slot = None;
}

fn level_name(level: Option<LogLevel>) -> &'static str {
    match level {
        Some(LogLevel::Error) => "ERROR",
        Some(LogLevel::Warn) => "WARN",
        Some(LogLevel::Info) => "INFO",
        Some(LogLevel::Debug) => "DEBUG",
        Some(LogLevel::Trace) => "TRACE",
        None => "?",
    }
}

/// The table's `log` entry.
///
/// # Safety
/// `message` must be readable for `len` bytes during the call (the contract of
/// `LogFn`), or null with `len == 0`.
unsafe extern "C" fn host_log(level: u32, message: *const u8, len: usize) {
    let bytes: &[u8] = if message.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: the plugin passes `len` readable bytes that it does not change
        // during the call (the `LogFn` contract); checked non-null just above.
        unsafe { std::slice::from_raw_parts(message, len) }
    };
    let text = String::from_utf8_lossy(bytes);
    let level = LogLevel::from_u32(level);
    // A panicking handler must not unwind into the plugin's frames.
    let _ = std::panic::catch_unwind(|| {
        let handler = LOG_HANDLER
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match handler {
            // An unknown level is passed on as the least severe one.
            Some(h) => h(level.unwrap_or(LogLevel::Trace), &text),
            None => eprintln!("[plugin {}] {text}", level_name(level)),
        }
    });
}

/// The table's `alloc` entry: the host's global allocator.
///
/// # Safety
/// None beyond the `AllocFn` contract; invalid layouts are refused with null.
unsafe extern "C" fn host_alloc(size: usize, align: usize) -> *mut u8 {
    match Layout::from_size_align(size, align) {
        // SAFETY: the layout is valid and has a non-zero size.
        Ok(layout) if size != 0 => unsafe { std::alloc::alloc(layout) },
        _ => std::ptr::null_mut(),
    }
}

/// The table's `dealloc` entry.
///
/// # Safety
/// `ptr` must come from [`host_alloc`] or [`host_realloc`] with this size and
/// alignment (the `DeallocFn` contract).
unsafe extern "C" fn host_dealloc(ptr: *mut u8, size: usize, align: usize) {
    if ptr.is_null() {
        return;
    }
    if let Ok(layout) = Layout::from_size_align(size, align) {
        // SAFETY: the plugin returns a block this allocator made, with the layout
        // it was made with (the `DeallocFn` contract).
        unsafe { std::alloc::dealloc(ptr, layout) }
    }
}

/// The table's `realloc` entry.
///
/// # Safety
/// `ptr` must come from this allocator with `old_size` and `align` (the
/// `ReallocFn` contract).
unsafe extern "C" fn host_realloc(
    ptr: *mut u8,
    old_size: usize,
    align: usize,
    new_size: usize,
) -> *mut u8 {
    let (Ok(layout), Ok(_)) = (
        Layout::from_size_align(old_size, align),
        Layout::from_size_align(new_size, align),
    ) else {
        return std::ptr::null_mut();
    };
    if ptr.is_null() || new_size == 0 {
        return std::ptr::null_mut();
    }
    // SAFETY: `ptr` was allocated by this allocator with `layout` (the caller's
    // contract), and the new size is non-zero and valid with this alignment.
    unsafe { std::alloc::realloc(ptr, layout, new_size) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocator_bridge_round_trips() {
        let alloc = HOST_API.alloc_fn().unwrap();
        let realloc = HOST_API.realloc_fn().unwrap();
        let dealloc = HOST_API.dealloc_fn().unwrap();
        // SAFETY: the table's own contract, followed step by step.
        unsafe {
            let p = alloc(16, 8);
            assert!(!p.is_null());
            assert_eq!(p as usize % 8, 0);
            p.write_bytes(7, 16);
            let q = realloc(p, 16, 8, 4096);
            assert!(!q.is_null());
            assert_eq!(*q.add(15), 7);
            dealloc(q, 4096, 8);
            assert!(alloc(0, 8).is_null());
            assert!(alloc(8, 3).is_null());
        }
    }
}
