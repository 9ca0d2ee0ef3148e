//! The host API table: what the host offers a plugin, and where the plugin keeps it.
//!
//! Owns: [`HostApi`] (`#[repr(C)]`, passed to the plugin's `init`), its function
//! pointer types, [`LogLevel`], and the plugin-global slot that remembers the table
//! ([`install`], [`host`]).
//!
//! Does not own: what is built on top of the table — the allocator bridge lives in
//! `allocator.rs`, the log functions and macros in `log.rs`.
//!
//! # Forward compatibility
//!
//! `size` is `size_of::<HostApi>()` as the host compiled it. Fields are only ever
//! appended; a plugin reads a field only when `size` covers it (the accessors such as
//! [`HostApi::alloc_fn`] do that), so a newer plugin on an older host sees the new
//! entries as absent instead of reading past the end of the table.
//!
//! Unsafe code is allowed in this module: the host table's functions are C function
//! pointers called with the caller's buffers.
#![allow(unsafe_code)]

use core::mem::offset_of;
use core::sync::atomic::{AtomicPtr, Ordering};

use crate::ABI_VERSION;

/// `log(level, message, len)`: one UTF-8 message (not NUL-terminated) at a
/// [`LogLevel`] given as its `u32` value. The host must not keep the pointer.
pub type LogFn = unsafe extern "C" fn(level: u32, message: *const u8, len: usize);
/// `alloc(size, align) -> ptr`: like `GlobalAlloc::alloc`; null on failure. `align`
/// is a power of two and `size` is non-zero.
pub type AllocFn = unsafe extern "C" fn(size: usize, align: usize) -> *mut u8;
/// `dealloc(ptr, size, align)`: frees a block from `alloc`/`realloc` with the same
/// size and alignment it was allocated with.
pub type DeallocFn = unsafe extern "C" fn(ptr: *mut u8, size: usize, align: usize);
/// `realloc(ptr, old_size, align, new_size) -> ptr`: like `GlobalAlloc::realloc`;
/// null on failure, in which case the old block is untouched.
pub type ReallocFn =
    unsafe extern "C" fn(ptr: *mut u8, old_size: usize, align: usize, new_size: usize) -> *mut u8;

/// The table of services the host hands to a plugin's `init` (C: `staticdl_host_api`).
///
/// Every entry is optional (null in C). The host keeps the table alive, unmoved and
/// unchanged for as long as the plugin is loaded.
///
/// ```
/// use staticdl_abi::{HostApi, ABI_VERSION};
///
/// unsafe extern "C" fn log(_level: u32, _msg: *const u8, _len: usize) {}
///
/// static HOST: HostApi = HostApi::new().with_log(log);
/// assert_eq!(HOST.abi_version, ABI_VERSION);
/// assert_eq!(HOST.size as usize, core::mem::size_of::<HostApi>());
/// assert!(HOST.alloc_fn().is_none());
/// ```
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct HostApi {
    /// [`ABI_VERSION`] of the host.
    pub abi_version: u32,
    /// `size_of::<HostApi>()` as the host knows it; fields past it are absent.
    pub size: u32,
    /// Log sink. Absent: messages are dropped.
    pub log: Option<LogFn>,
    /// Allocation. Absent: [`HostAllocator`](crate::HostAllocator) fails every
    /// allocation.
    pub alloc: Option<AllocFn>,
    /// Deallocation; present whenever `alloc` is.
    pub dealloc: Option<DeallocFn>,
    /// Reallocation. Absent: the allocator bridge allocates, copies and frees.
    pub realloc: Option<ReallocFn>,
}

/// The size of the first version of [`HostApi`]; a smaller table is rejected.
pub const HOST_API_MIN_SIZE: u32 = core::mem::size_of::<HostApi>() as u32;

impl HostApi {
    /// A table of this ABI version with every entry absent.
    pub const fn new() -> Self {
        Self {
            abi_version: ABI_VERSION,
            size: core::mem::size_of::<Self>() as u32,
            log: None,
            alloc: None,
            dealloc: None,
            realloc: None,
        }
    }

    /// Sets the log sink.
    pub const fn with_log(mut self, log: LogFn) -> Self {
        self.log = Some(log);
        self
    }

    /// Sets the allocation entries.
    pub const fn with_allocator(
        mut self,
        alloc: AllocFn,
        dealloc: DeallocFn,
        realloc: Option<ReallocFn>,
    ) -> Self {
        self.alloc = Some(alloc);
        self.dealloc = Some(dealloc);
        self.realloc = realloc;
        self
    }

    /// Whether the table, as the host sized it, contains the field ending at `end`.
    fn covers(&self, offset: usize, len: usize) -> bool {
        offset + len <= self.size as usize
    }

    /// The log sink, if the host provides one.
    pub fn log_fn(&self) -> Option<LogFn> {
        self.log
            .filter(|_| self.covers(offset_of!(Self, log), size_of::<Option<LogFn>>()))
    }

    /// The allocation entry, if the host provides one.
    pub fn alloc_fn(&self) -> Option<AllocFn> {
        self.alloc
            .filter(|_| self.covers(offset_of!(Self, alloc), size_of::<Option<AllocFn>>()))
    }

    /// The deallocation entry, if the host provides one.
    pub fn dealloc_fn(&self) -> Option<DeallocFn> {
        self.dealloc
            .filter(|_| self.covers(offset_of!(Self, dealloc), size_of::<Option<DeallocFn>>()))
    }

    /// The reallocation entry, if the host provides one.
    pub fn realloc_fn(&self) -> Option<ReallocFn> {
        self.realloc
            .filter(|_| self.covers(offset_of!(Self, realloc), size_of::<Option<ReallocFn>>()))
    }
}

impl Default for HostApi {
    fn default() -> Self {
        Self::new()
    }
}

/// Severity of a log message; crosses the boundary as its `u32` value.
///
/// ```
/// use staticdl_abi::LogLevel;
///
/// assert_eq!(LogLevel::from_u32(3), Some(LogLevel::Info));
/// assert_eq!(LogLevel::from_u32(9), None);
/// ```
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// `STATICDL_LOG_ERROR`
    Error = 1,
    /// `STATICDL_LOG_WARN`
    Warn = 2,
    /// `STATICDL_LOG_INFO`
    Info = 3,
    /// `STATICDL_LOG_DEBUG`
    Debug = 4,
    /// `STATICDL_LOG_TRACE`
    Trace = 5,
}

impl LogLevel {
    /// The level with this wire value; hosts use it to read what a plugin sent.
    pub const fn from_u32(value: u32) -> Option<Self> {
        Some(match value {
            1 => Self::Error,
            2 => Self::Warn,
            3 => Self::Info,
            4 => Self::Debug,
            5 => Self::Trace,
            _ => return None,
        })
    }
}

/// Why [`install`] refused a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostError {
    /// The pointer was null.
    Null,
    /// The host speaks another ABI version.
    AbiVersion {
        /// The host's version.
        found: u32,
    },
    /// The table is smaller than [`HOST_API_MIN_SIZE`].
    TooSmall {
        /// The size the host declared.
        size: u32,
    },
}

impl core::fmt::Display for HostError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Null => f.write_str("host API table is null"),
            Self::AbiVersion { found } => {
                write!(
                    f,
                    "host speaks ABI version {found}, plugin speaks {ABI_VERSION}"
                )
            }
            Self::TooSmall { size } => {
                write!(
                    f,
                    "host API table is {size} bytes, at least {HOST_API_MIN_SIZE} expected"
                )
            }
        }
    }
}

impl core::error::Error for HostError {}

/// The table handed to this plugin's `init`. Each plugin links its own copy of this
/// crate, so each plugin has its own slot.
static HOST: AtomicPtr<HostApi> = AtomicPtr::new(core::ptr::null_mut());

/// Checks `table` and remembers it as this plugin's host. The `init` emitted by
/// [`plugin!`](crate::plugin) calls this first; plugins that write their descriptor
/// by hand call it from their own `init`.
///
/// ```
/// use staticdl_abi::{host, HostApi};
///
/// static TABLE: HostApi = HostApi::new();
/// // SAFETY: `TABLE` is a valid table that lives forever.
/// unsafe { host::install(&TABLE) }.unwrap();
/// assert!(host::host().is_some());
/// ```
///
/// # Safety
/// `table`, if not null, must point to a `HostApi` of at least `table.size` bytes
/// that stays valid and unchanged for as long as this plugin may use it.
pub unsafe fn install(table: *const HostApi) -> Result<&'static HostApi, HostError> {
    if table.is_null() {
        return Err(HostError::Null);
    }
    // SAFETY: non-null, and the caller vouches for a valid table; the first two
    // fields are the same in every version, so they are read before `size` says
    // anything about the rest.
    let (abi_version, size) = unsafe { ((*table).abi_version, (*table).size) };
    if abi_version != ABI_VERSION {
        return Err(HostError::AbiVersion { found: abi_version });
    }
    if size < HOST_API_MIN_SIZE {
        return Err(HostError::TooSmall { size });
    }
    HOST.store(table.cast_mut(), Ordering::Release);
    // SAFETY: checked non-null and of a known size; the caller vouches that it lives
    // for as long as the plugin.
    Ok(unsafe { &*table })
}

/// The host table installed by `init`, or `None` before `init` ran.
///
/// ```
/// if let Some(host) = staticdl_abi::host() {
///     assert_eq!(host.abi_version, staticdl_abi::ABI_VERSION);
/// }
/// ```
pub fn host() -> Option<&'static HostApi> {
    let table = HOST.load(Ordering::Acquire);
    // SAFETY: only `install` stores here, after checking the table; its caller
    // vouched that the table outlives every use by this plugin.
    unsafe { table.as_ref() }
}

/// Forgets the installed table (tests only: a plugin's table never goes away).
#[cfg(test)]
pub(crate) fn clear() {
    HOST.store(core::ptr::null_mut(), Ordering::Release);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_table_hides_later_fields() {
        unsafe extern "C" fn alloc(_: usize, _: usize) -> *mut u8 {
            core::ptr::null_mut()
        }
        unsafe extern "C" fn dealloc(_: *mut u8, _: usize, _: usize) {}
        let mut table = HostApi::new().with_allocator(alloc, dealloc, None);
        assert!(table.alloc_fn().is_some());
        table.size = offset_of!(HostApi, alloc) as u32;
        assert!(table.alloc_fn().is_none());
        assert!(table.dealloc_fn().is_none());
    }

    #[test]
    fn install_rejects_bad_tables() {
        // SAFETY: null is accepted and rejected.
        let err = unsafe { install(core::ptr::null()) }.unwrap_err();
        assert_eq!(err, HostError::Null);
        let mut table = HostApi::new();
        table.abi_version = ABI_VERSION + 1;
        // SAFETY: `table` outlives the call, and it is rejected so never stored.
        let err = unsafe { install(&table) }.unwrap_err();
        assert_eq!(
            err,
            HostError::AbiVersion {
                found: ABI_VERSION + 1
            }
        );
        let mut table = HostApi::new();
        table.size = 8;
        // SAFETY: as above.
        let err = unsafe { install(&table) }.unwrap_err();
        assert_eq!(err, HostError::TooSmall { size: 8 });
    }
}
