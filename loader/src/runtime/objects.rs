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
//!
//! Unsafe code is allowed in this module: `dl_iterate_phdr`-style callbacks are foreign
//! functions called with pointers to the list's entries.
#![allow(unsafe_code)]

use std::any::Any;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};

/// What keeps a listed object mapped (its load group), as the list holds it:
/// opaque here, so this module knows nothing of how objects are loaded.
pub(crate) type Owner = Arc<dyn Any + Send + Sync>;

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
    owner: Weak<dyn Any + Send + Sync>,
    /// Identifies the owner's entries for removal.
    key: usize,
    index: usize,
    start: usize,
    len: usize,
    bias: usize,
    name: Arc<CStr>,
    phdr: usize,
    phnum: u16,
    tls_id: usize,
}

static OBJECTS: RwLock<Vec<Entry>> = RwLock::new(Vec::new());
static ADDS: AtomicU64 = AtomicU64::new(0);
static SUBS: AtomicU64 = AtomicU64::new(0);

/// What one module contributes to the list.
pub(crate) struct ObjectInfo {
    pub start: usize,
    pub len: usize,
    pub bias: usize,
    /// The path as C string (NULs replaced), shared by the object list and the
    /// debugger chain.
    pub name: Arc<CStr>,
    pub phdr: usize,
    pub phnum: u16,
    pub tls_id: usize,
    /// Address of the dynamic section (for debuggers' `l_ld`).
    pub dynamic: usize,
}

/// Add the objects of one group (with their per-object info, in order), filed
/// under `key`.
pub(crate) fn register_group(key: usize, owner: Owner, infos: Vec<ObjectInfo>) {
    super::debug::add(
        infos.iter().map(|i| (i.bias, i.name.clone(), i.dynamic)),
        key,
    );
    let mut list = OBJECTS.write().unwrap_or_else(|e| e.into_inner());
    for (index, i) in infos.into_iter().enumerate() {
        list.push(Entry {
            owner: Arc::downgrade(&owner),
            key,
            index,
            start: i.start,
            len: i.len,
            bias: i.bias,
            name: i.name,
            phdr: i.phdr,
            phnum: i.phnum,
            tls_id: i.tls_id,
        });
        ADDS.fetch_add(1, Ordering::Relaxed);
    }
}

/// Remove the objects filed under `key` (called when their group goes).
pub(crate) fn unregister_group(key: usize) {
    let mut list = OBJECTS.write().unwrap_or_else(|e| e.into_inner());
    let before = list.len();
    list.retain(|e| e.key != key);
    let removed = before - list.len();
    SUBS.fetch_add(removed as u64, Ordering::Relaxed);
    drop(list);
    if removed > 0 {
        super::debug::remove(key);
    }
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

/// The owner of the listed object whose mapping contains `addr`, and the
/// object's index in it (`Library::containing` turns it into a handle).
pub(crate) fn owner_containing(addr: usize) -> Option<(Owner, usize)> {
    let list = OBJECTS.read().unwrap_or_else(|e| e.into_inner());
    list.iter()
        .find(|e| addr >= e.start && addr - e.start < e.len)
        .and_then(|e| Some((e.owner.upgrade()?, e.index)))
}
