//! The handles the archive hands out: one table for `staticdl_open` and
//! `dlopen`, so a handle from either works with the other's functions.
//!
//! Owns the table of open objects (a facade [`Plugin`] per object, counted per
//! open, as glibc counts `dlopen` calls), the two fixed handles (`dlopen(NULL)`,
//! the global scope, and the handle of the C library names the provider
//! answers), and the strings handed to C (interned: they stay valid for the life
//! of the process, also after the object is closed). A handle is the start of
//! the object's mapping, as the provider's plugin-side `dlopen` numbers it. The
//! last close drops the table's `Plugin`, outside the lock, which unloads the
//! object if no other handle holds it. Does not own how objects are opened
//! (`open.rs`) or looked into.
//!
//! Unsafe code is allowed in this module: an entry holds C string and link
//! map pointers, which makes it `Send` only by a promise (`unsafe impl`).
#![allow(unsafe_code)]

use std::collections::HashSet;
use std::ffi::{c_char, c_void, CString};
use std::sync::{Mutex, MutexGuard, OnceLock};

use staticdl::Plugin;

/// `struct link_map` as `dlinfo(RTLD_DI_LINKMAP)` hands it out.
#[repr(C)]
pub(crate) struct LinkMap {
    /// Load bias.
    pub l_addr: usize,
    /// The object's name as it was opened.
    pub l_name: *const c_char,
    /// Its dynamic section.
    pub l_ld: *const c_void,
    /// No chain: always null.
    pub l_next: *mut LinkMap,
    /// No chain: always null.
    pub l_prev: *mut LinkMap,
}

struct Entry {
    handle: usize,
    plugin: Plugin,
    count: usize,
    /// The name the first open passed, as glibc keeps it in `l_name`.
    name: *const c_char,
    /// Made on the first `dlinfo(RTLD_DI_LINKMAP)`.
    link_map: Option<Box<LinkMap>>,
}

// SAFETY: the raw pointers are interned strings (immutable, never freed) and the
// entry's own link map, only touched with the table locked.
unsafe impl Send for Entry {}

static TABLE: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

/// `dlopen(NULL)`'s handle.
static MAIN: u8 = 0;
/// The handle of the names the provider answers (`dlopen("libc.so.6")`).
static LIBC: u8 = 0;

/// What a handle stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Handle {
    /// The global scope (`dlopen(NULL)`, `RTLD_DEFAULT`, `RTLD_NEXT`).
    Default,
    /// The C library names the provider answers.
    Libc,
    /// An object in the table.
    Object(Plugin),
}

fn lock() -> MutexGuard<'static, Vec<Entry>> {
    TABLE.lock().unwrap_or_else(|e| e.into_inner())
}

/// The handle `dlopen(NULL)` returns.
pub(crate) fn main_handle() -> *mut c_void {
    &MAIN as *const u8 as *mut c_void
}

/// The handle of the provided C library names.
pub(crate) fn libc_handle() -> *mut c_void {
    &LIBC as *const u8 as *mut c_void
}

/// `RTLD_NEXT`, `(void *) -1`.
const RTLD_NEXT: usize = usize::MAX;

/// What `handle` stands for, or `None` if the archive never handed it out (or
/// its object was closed for the last time).
pub(crate) fn resolve(handle: *mut c_void) -> Option<Handle> {
    let h = handle as usize;
    if h == 0 || h == RTLD_NEXT || h == main_handle() as usize {
        return Some(Handle::Default);
    }
    if h == libc_handle() as usize {
        return Some(Handle::Libc);
    }
    lock()
        .iter()
        .find(|e| e.handle == h)
        .map(|e| Handle::Object(e.plugin.clone()))
}

/// Counts one more open of `plugin`, opened as `name`, and returns its handle.
pub(crate) fn insert(plugin: Plugin, name: &str) -> *mut c_void {
    let handle = plugin.address_range().0;
    let mut table = lock();
    match table.iter_mut().find(|e| e.handle == handle) {
        // The same object again: `plugin` is another handle to the table's own,
        // dropped here without unloading anything.
        Some(e) => e.count += 1,
        None => table.push(Entry {
            handle,
            plugin,
            count: 1,
            name: intern(name),
            link_map: None,
        }),
    }
    handle as *mut c_void
}

/// What a close did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Closed {
    /// Another open of the object is still counted.
    StillOpen,
    /// That was the table's last count; the result says whether the object was
    /// unloaded with it (false when something else still holds it).
    Last(bool),
    /// A fixed handle: nothing to close.
    Fixed,
    /// Not a handle the archive handed out.
    Invalid,
}

/// Gives up one count of `handle`.
pub(crate) fn close(handle: *mut c_void) -> Closed {
    match resolve(handle) {
        None => return Closed::Invalid,
        Some(Handle::Default | Handle::Libc) => return Closed::Fixed,
        Some(Handle::Object(_)) => {}
    }
    let h = handle as usize;
    let last = {
        let mut table = lock();
        let Some(i) = table.iter().position(|e| e.handle == h) else {
            return Closed::Invalid;
        };
        table[i].count -= 1;
        if table[i].count > 0 {
            return Closed::StillOpen;
        }
        table.remove(i)
    };
    // Unlocked: the object's finalisers may open and close objects themselves.
    let Entry { plugin, .. } = last;
    Closed::Last(plugin.close())
}

/// The name `start`'s object was first opened by through the table (glibc's
/// `l_name`), if it is in the table.
pub(crate) fn name_of(start: usize) -> Option<*const c_char> {
    lock().iter().find(|e| e.handle == start).map(|e| e.name)
}

/// The link map of the object with `handle`, made by `make` the first time,
/// valid until the object's last close.
pub(crate) fn link_map(
    handle: *mut c_void,
    make: impl FnOnce(*const c_char) -> Option<LinkMap>,
) -> Option<*mut LinkMap> {
    let mut table = lock();
    let e = table.iter_mut().find(|e| e.handle == handle as usize)?;
    if e.link_map.is_none() {
        e.link_map = Some(Box::new(make(e.name)?));
    }
    e.link_map.as_deref_mut().map(|m| m as *mut LinkMap)
}

/// `s` as a C string that lives as long as the process (each distinct string
/// is kept once).
pub(crate) fn intern(s: &str) -> *const c_char {
    static STRINGS: OnceLock<Mutex<HashSet<CString>>> = OnceLock::new();
    let c = CString::new(s.replace('\0', "?")).unwrap_or_default();
    let mut set = STRINGS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(kept) = set.get(&c) {
        return kept.as_ptr();
    }
    let p = c.as_ptr();
    set.insert(c);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_handles_resolve_and_cannot_be_closed() {
        assert_eq!(resolve(std::ptr::null_mut()), Some(Handle::Default));
        assert_eq!(resolve(usize::MAX as *mut c_void), Some(Handle::Default));
        assert_eq!(resolve(main_handle()), Some(Handle::Default));
        assert_eq!(resolve(libc_handle()), Some(Handle::Libc));
        assert_eq!(close(main_handle()), Closed::Fixed);
        assert_eq!(resolve(8 as *mut c_void), None);
        assert_eq!(close(8 as *mut c_void), Closed::Invalid);
    }

    #[test]
    fn interned_strings_are_kept_once() {
        let a = intern("/opt/x.so");
        let b = intern(&String::from("/opt/x.so"));
        assert_eq!(a, b);
        assert_ne!(a, intern("/opt/y.so"));
    }
}
