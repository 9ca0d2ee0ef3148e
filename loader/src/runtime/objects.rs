//! The process-wide list of loaded objects, for unwinders, debuggers and address
//! lookups.
//!
//! Owns the list `dl_iterate_phdr` walks (in glibc's `struct dl_phdr_info` form),
//! the add/remove counters unwinders use to invalidate their caches, and the lookup
//! from an address to the loaded object containing it. An object joins the list
//! after relocation and before its init functions run (so code unwinding inside
//! init finds it), and leaves it after its fini functions ran, before it is
//! unmapped. Readers hold a read lock while their callback runs, so the list stays
//! consistent under concurrent load and unload.

use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};

use crate::namespace::{Group, Library};

/// glibc's `struct dl_phdr_info` (x86-64 layout).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct DlPhdrInfo {
    /// Load bias of the object.
    pub dlpi_addr: usize,
    /// Path of the object (NUL-terminated).
    pub dlpi_name: *const c_char,
    /// Its program headers, in memory.
    pub dlpi_phdr: *const c_void,
    /// Number of program headers.
    pub dlpi_phnum: u16,
    /// Objects added to the process so far.
    pub dlpi_adds: u64,
    /// Objects removed so far.
    pub dlpi_subs: u64,
    /// TLS module id (0 if none).
    pub dlpi_tls_modid: usize,
    /// The calling thread's TLS block of this object, if allocated.
    pub dlpi_tls_data: *mut c_void,
}

/// The callback type of `dl_iterate_phdr`.
pub type DlIterateCallback = unsafe extern "C" fn(*mut DlPhdrInfo, usize, *mut c_void) -> c_int;

struct Entry {
    group: Weak<Group>,
    index: usize,
    start: usize,
    len: usize,
    bias: usize,
    name: CString,
    phdr: usize,
    phnum: u16,
    tls_id: usize,
}

// SAFETY: entries hold plain addresses and owned data; the Weak is Send + Sync
// because `Group` is.
unsafe impl Send for Entry {}
// SAFETY: as above; no interior mutability.
unsafe impl Sync for Entry {}

static OBJECTS: RwLock<Vec<Entry>> = RwLock::new(Vec::new());
static ADDS: AtomicU64 = AtomicU64::new(0);
static SUBS: AtomicU64 = AtomicU64::new(0);

/// What one module contributes to the list.
pub(crate) struct ObjectInfo {
    pub start: usize,
    pub len: usize,
    pub bias: usize,
    pub path: String,
    pub phdr: usize,
    pub phnum: u16,
    pub tls_id: usize,
    /// Address of the dynamic section (for debuggers' `l_ld`).
    pub dynamic: usize,
}

/// Add every module of `group` (with its per-module info, in order).
pub(crate) fn register_group(group: &Arc<Group>, infos: Vec<ObjectInfo>) {
    let debug: Vec<(usize, &str, usize)> = infos
        .iter()
        .map(|i| (i.bias, i.path.as_str(), i.dynamic))
        .collect();
    super::debug::add(&debug, Arc::as_ptr(group) as usize);
    drop(debug);
    let mut list = OBJECTS.write().unwrap_or_else(|e| e.into_inner());
    for (index, i) in infos.into_iter().enumerate() {
        list.push(Entry {
            group: Arc::downgrade(group),
            index,
            start: i.start,
            len: i.len,
            bias: i.bias,
            name: CString::new(i.path.replace('\0', "?")).unwrap_or_default(),
            phdr: i.phdr,
            phnum: i.phnum,
            tls_id: i.tls_id,
        });
        ADDS.fetch_add(1, Ordering::Relaxed);
    }
}

/// Remove every module of the group at `group` (called from its drop).
pub(crate) fn unregister_group(group: *const Group) {
    let mut list = OBJECTS.write().unwrap_or_else(|e| e.into_inner());
    let before = list.len();
    list.retain(|e| e.group.as_ptr() != group);
    SUBS.fetch_add((before - list.len()) as u64, Ordering::Relaxed);
    drop(list);
    super::debug::remove(group as usize);
}

/// Call `cb` for every loaded object (not the host executable), in load order,
/// until it returns non-zero; returns the last value returned (0 if none).
///
/// # Safety
/// `cb` must be safe to call with a valid `DlPhdrInfo` pointer, its size and
/// `data`. It runs with the object list read-locked: it must not load or unload.
///
/// ```
/// use std::ffi::{c_int, c_void};
/// use staticdl_loader::runtime::{iterate_loaded_phdrs, DlPhdrInfo};
/// unsafe extern "C" fn count(_: *mut DlPhdrInfo, _: usize, n: *mut c_void) -> c_int {
///     unsafe { *(n as *mut usize) += 1 };
///     0
/// }
/// let mut n = 0usize;
/// unsafe { iterate_loaded_phdrs(count, &mut n as *mut usize as *mut c_void) };
/// ```
pub unsafe fn iterate_loaded_phdrs(cb: DlIterateCallback, data: *mut c_void) -> c_int {
    let list = OBJECTS.read().unwrap_or_else(|e| e.into_inner());
    let (adds, subs) = phdr_counts();
    for e in list.iter() {
        let mut info = DlPhdrInfo {
            dlpi_addr: e.bias,
            dlpi_name: e.name.as_ptr(),
            dlpi_phdr: e.phdr as *const c_void,
            dlpi_phnum: e.phnum,
            dlpi_adds: adds,
            dlpi_subs: subs,
            dlpi_tls_modid: e.tls_id,
            dlpi_tls_data: if e.tls_id == 0 {
                std::ptr::null_mut()
            } else {
                super::tls::block_if_allocated(e.tls_id).cast()
            },
        };
        // SAFETY: the caller's contract; `info` lives across the call.
        let r = unsafe { cb(&mut info, std::mem::size_of::<DlPhdrInfo>(), data) };
        if r != 0 {
            return r;
        }
    }
    0
}

/// Objects added and removed since the process started (`dlpi_adds`, `dlpi_subs`).
///
/// ```
/// let (adds, subs) = staticdl_loader::runtime::phdr_counts();
/// assert!(adds >= subs);
/// ```
pub fn phdr_counts() -> (u64, u64) {
    (ADDS.load(Ordering::Relaxed), SUBS.load(Ordering::Relaxed))
}

/// The loaded object whose mapping contains `addr`, from any namespace.
///
/// ```
/// assert!(staticdl_loader::runtime::library_containing(0).is_none());
/// ```
pub fn library_containing(addr: usize) -> Option<Library> {
    let list = OBJECTS.read().unwrap_or_else(|e| e.into_inner());
    list.iter()
        .find(|e| addr >= e.start && addr - e.start < e.len)
        .and_then(|e| Library::from_parts(e.group.upgrade()?, e.index))
}
