//! The `<dlfcn.h>` and `<link.h>` interface as plugins see it: `dlopen`, `dlsym`,
//! `dlvsym`, `dlclose` and `dlerror`, answered by staticdl itself (the object
//! list that `dl_iterate_phdr`, `_dl_find_object` and `dladdr` read is
//! `objects.rs`'s).
//!
//! Owns the handle table of objects opened through `dlopen` and the per-thread
//! `dlerror` message.
//!
//! Objects are opened into the process namespace (`crate::namespace()`), the one
//! `Plugin::open` uses, so a plugin's `dlopen` of an open plugin gets the same
//! object. A bare name is searched through the calling object's own search path
//! (found from `dlopen`'s return address). The loader runs initialisers with its
//! lock released, so an initialiser may `dlopen`, `dlsym` and `dlclose` (its own
//! object included: it gets its handle back at once).
//!
//! Unsafe code is allowed in this module: these are the `<dlfcn.h>` entry points,
//! taking C strings and writing the caller's structures, and `dl_iterate_phdr` calls
//! foreign callbacks.
#![allow(unsafe_code)]

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use staticdl_loader::{ErrorKind, Library, SymbolName};

const RTLD_NOLOAD: c_int = 0x4;
const RTLD_GLOBAL: c_int = 0x100;
const RTLD_NODELETE: c_int = 0x1000;
/// `RTLD_NEXT` as glibc spells it, `(void *) -1`.
const RTLD_NEXT: usize = usize::MAX;

/// The handle `dlopen(NULL)` returns: the global scope.
static MAIN_HANDLE: u8 = 0;
/// The handle of the provided libraries (`dlopen("libc.so.6")`).
static LIBC_HANDLE: u8 = 0;

struct Open {
    handle: usize,
    lib: Library,
    count: usize,
}

static OPEN: Mutex<Vec<Open>> = Mutex::new(Vec::new());

thread_local! {
    /// The pending error, and the last one returned (kept until the next call,
    /// as glibc keeps the string `dlerror` returned).
    static ERROR: RefCell<(Option<CString>, Option<CString>)> = const { RefCell::new((None, None)) };
}

fn set_error(msg: impl Into<String>) {
    let msg = CString::new(msg.into().replace('\0', "?")).unwrap_or_default();
    let _ = ERROR.try_with(|e| e.borrow_mut().0 = Some(msg));
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// # Safety
/// `p` is null or a NUL-terminated string.
unsafe fn c_str<'a>(p: *const c_char) -> Option<&'a CStr> {
    // SAFETY: the caller's contract.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) })
}

// ---- dlopen / dlclose / dlerror ----

// `dlopen` searches a bare name through the search path of the object that
// called it, as glibc does: the entry point passes its return address on.
std::arch::global_asm!(
    ".pushsection .text.staticdl_dlopen,\"ax\",@progbits",
    ".p2align 4",
    ".globl staticdl_dlopen_entry",
    ".hidden staticdl_dlopen_entry",
    ".type staticdl_dlopen_entry,@function",
    "staticdl_dlopen_entry:",
    "    mov rdx, [rsp]",
    "    jmp {imp}",
    ".size staticdl_dlopen_entry, .-staticdl_dlopen_entry",
    ".popsection",
    imp = sym dlopen_from,
);

extern "C" {
    /// `void *dlopen(const char *file, int flags)`, with the caller found from
    /// the return address.
    fn staticdl_dlopen_entry(file: *const c_char, flags: c_int) -> *mut c_void;
}

/// The address handed out for `dlopen`.
pub(super) fn dlopen_address() -> usize {
    staticdl_dlopen_entry as *const () as usize
}

/// `dlopen(file, flags)` called from code at `caller`.
unsafe extern "C" fn dlopen_from(file: *const c_char, flags: c_int, caller: usize) -> *mut c_void {
    // SAFETY: `file` is null or a C string (dlopen's contract).
    let Some(file) = (unsafe { c_str(file) }) else {
        return &MAIN_HANDLE as *const u8 as *mut c_void;
    };
    let name = String::from_utf8_lossy(file.to_bytes()).into_owned();
    if super::PROVIDED_LIBRARIES.contains(&name.as_str()) {
        return &LIBC_HANDLE as *const u8 as *mut c_void;
    }
    let found = if flags & RTLD_NOLOAD != 0 {
        match super::namespace().loaded_by_name(&name) {
            Some(lib) => Ok(lib),
            None => return std::ptr::null_mut(),
        }
    } else {
        open(&name, flags & RTLD_GLOBAL != 0, caller)
    };
    match found {
        Ok(lib) => {
            if flags & RTLD_NODELETE != 0 {
                std::mem::forget(lib.clone());
            }
            register(lib) as *mut c_void
        }
        Err(msg) => {
            set_error(msg);
            std::ptr::null_mut()
        }
    }
}

/// Open `name` for code at `caller`: a bare name through the calling object's
/// search path (glibc's order: its `DT_RPATH`, `LD_LIBRARY_PATH`, its
/// `DT_RUNPATH`, the system directories), an object already loaded by soname or
/// identity as it is.
fn open(name: &str, global: bool, caller: usize) -> Result<Library, String> {
    let requester = Library::containing(caller);
    let mut options = super::load_options().global(global);
    options.search_paths.extend(library_path().iter().cloned());
    super::namespace()
        .load_by_name(name, requester.as_ref(), &options)
        .map_err(|e| match e.kind() {
            ErrorKind::LibraryNotFound { name: missing, .. } if missing == name => {
                format!("{name}: cannot open shared object file: No such file or directory")
            }
            _ => e.to_string(),
        })
}

/// `LD_LIBRARY_PATH`, read once, as glibc reads it at start-up.
pub(super) fn library_path() -> &'static [PathBuf] {
    static DIRS: OnceLock<Vec<PathBuf>> = OnceLock::new();
    DIRS.get_or_init(|| {
        let env = std::env::var_os("LD_LIBRARY_PATH").unwrap_or_default();
        std::env::split_paths(&env)
            .filter(|d| !d.as_os_str().is_empty())
            .collect()
    })
}

/// The handle of `lib`: the start of its mapping, counted per `dlopen`.
fn register(lib: Library) -> usize {
    let handle = lib.address_range().0;
    let mut open = lock(&OPEN);
    match open.iter_mut().find(|o| o.handle == handle) {
        Some(o) => o.count += 1,
        None => open.push(Open {
            handle,
            lib,
            count: 1,
        }),
    }
    handle
}

fn handle_library(handle: usize) -> Option<Library> {
    lock(&OPEN)
        .iter()
        .find(|o| o.handle == handle)
        .map(|o| o.lib.clone())
}

/// `int dlclose(void *handle)`.
pub(super) unsafe extern "C" fn dlclose(handle: *mut c_void) -> c_int {
    let h = handle as usize;
    if h == &MAIN_HANDLE as *const u8 as usize || h == &LIBC_HANDLE as *const u8 as usize {
        return 0;
    }
    let released = {
        let mut open = lock(&OPEN);
        match open.iter().position(|o| o.handle == h) {
            Some(i) => {
                open[i].count -= 1;
                if open[i].count == 0 {
                    Some(Some(open.remove(i).lib))
                } else {
                    Some(None)
                }
            }
            None => None,
        }
    };
    match released {
        // Dropped here, without the table locked: fini functions may dlclose.
        Some(lib) => {
            drop(lib);
            0
        }
        None => {
            set_error("dlclose: invalid handle");
            -1
        }
    }
}

/// `char *dlerror(void)`.
pub(super) extern "C" fn dlerror() -> *mut c_char {
    ERROR
        .try_with(|e| {
            let mut e = e.borrow_mut();
            let pending = e.0.take();
            e.1 = pending;
            e.1.as_ref()
                .map_or(std::ptr::null_mut(), |s| s.as_ptr() as *mut c_char)
        })
        .unwrap_or(std::ptr::null_mut())
}

// ---- dlsym / dlvsym ----

/// `dlsym` and `dlvsym`. `RTLD_NEXT` searches as `RTLD_DEFAULT` does: the
/// provided libraries come first there, which is what interposers calling
/// `dlsym(RTLD_NEXT, "malloc")` look for.
unsafe fn dlsym_impl(handle: usize, name: *const c_char, version: *const c_char) -> *mut c_void {
    // SAFETY: dlsym's contract: C strings or null.
    let (Some(name), version) = (unsafe { c_str(name) }, unsafe { c_str(version) }) else {
        set_error("dlsym: null symbol name");
        return std::ptr::null_mut();
    };
    let version = version.map(CStr::to_bytes);
    let found =
        if handle == 0 || handle == RTLD_NEXT || handle == &MAIN_HANDLE as *const u8 as usize {
            default_lookup(name.to_bytes(), version)
        } else if handle == &LIBC_HANDLE as *const u8 as usize {
            super::table::lookup(name.to_bytes(), version)
        } else {
            match handle_library(handle) {
                Some(lib) => object_lookup(&lib, name.to_bytes(), version, true),
                None => {
                    set_error("dlsym: invalid handle");
                    return std::ptr::null_mut();
                }
            }
        };
    match found {
        Some(a) => super::intercept::exported(a) as *mut c_void,
        None => {
            set_error(format!(
                "undefined symbol: {}{}",
                name.to_string_lossy(),
                version
                    .map(|v| format!(", version {}", String::from_utf8_lossy(v)))
                    .unwrap_or_default()
            ));
            std::ptr::null_mut()
        }
    }
}

/// `RTLD_DEFAULT`: the provided libraries (the host), then every loaded object.
pub(super) fn default_lookup(name: &[u8], version: Option<&[u8]>) -> Option<usize> {
    super::table::lookup(name, version).or_else(|| {
        super::objects::loaded_objects()
            .iter()
            .find_map(|lib| object_lookup(lib, name, version, false))
    })
}

fn object_lookup(lib: &Library, name: &[u8], version: Option<&[u8]>, deps: bool) -> Option<usize> {
    let mut full = String::from_utf8_lossy(name).into_owned();
    if let Some(v) = version {
        full.push('@');
        full.push_str(&String::from_utf8_lossy(v));
    }
    let sym = SymbolName::new(&full);
    let found = if deps {
        lib.lookup(&sym)
    } else {
        lib.lookup_here(&sym)
    };
    found.map(|p| p.as_ptr() as usize)
}

unsafe extern "C" fn dlsym(handle: *mut c_void, name: *const c_char) -> *mut c_void {
    // SAFETY: forwarded contract.
    unsafe { dlsym_impl(handle as usize, name, std::ptr::null()) }
}

unsafe extern "C" fn dlvsym(
    handle: *mut c_void,
    name: *const c_char,
    version: *const c_char,
) -> *mut c_void {
    // SAFETY: forwarded contract.
    unsafe { dlsym_impl(handle as usize, name, version) }
}

/// The address handed out for `dlsym`.
pub(super) fn dlsym_address() -> usize {
    dlsym as unsafe extern "C" fn(*mut c_void, *const c_char) -> *mut c_void as usize
}

/// The address handed out for `dlvsym`.
pub(super) fn dlvsym_address() -> usize {
    dlvsym as unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char) -> *mut c_void
        as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dlsym_default_finds_the_table_and_reports_misses() {
        // SAFETY: valid C strings.
        unsafe {
            let p = dlsym(std::ptr::null_mut(), c"malloc".as_ptr());
            assert_eq!(
                Some(p as usize),
                super::super::table::lookup(b"malloc", None)
            );
            let q = dlsym(std::ptr::null_mut(), c"__pthread_get_minstack".as_ptr());
            assert!(q.is_null());
            let msg = CStr::from_ptr(dlerror()).to_string_lossy().into_owned();
            assert_eq!(msg, "undefined symbol: __pthread_get_minstack");
            assert!(dlerror().is_null());
        }
    }

    #[test]
    fn provided_libraries_open_as_the_table() {
        // SAFETY: valid C strings.
        unsafe {
            let h = staticdl_dlopen_entry(c"libc.so.6".as_ptr(), 2);
            assert!(!h.is_null());
            assert!(!dlsym(h, c"strlen".as_ptr()).is_null());
            assert_eq!(dlclose(h), 0);
            assert!(staticdl_dlopen_entry(c"libnothing-here.so.9".as_ptr(), 2).is_null());
            assert!(!dlerror().is_null());
        }
    }
}
