//! The host API of `staticdl.h`: `staticdl_open`, `staticdl_sym`,
//! `staticdl_vsym`, `staticdl_close`, `staticdl_error`, `staticdl_info`,
//! `staticdl_preload`, `staticdl_export_symbol`, `staticdl_forget_failure`.
//!
//! Owns the C entry points a host calls on purpose, each a thin layer over the
//! facade: `staticdl_open` is `Plugin::open` (a path relative to the working
//! directory, the registry's sharing, init-once and previous-failure rules),
//! lookups and handles are the ones `dlopen` uses (`table.rs`), and failures
//! leave the facade's wording for `staticdl_error()` (and glibc's for
//! `dlerror()`). The link-order check `staticdl_linked_first` is C
//! (`c/check.c`). Does not own the `<dlfcn.h>` names (`dlfcn.rs`,
//! `address.rs`) or preload's rules (`preload.rs`).
//!
//! Unsafe code is allowed in this module: its entry points are C functions
//! (`#[no_mangle]`) taking C strings and writing through the caller's
//! pointers.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void, CStr};

use crate::open::How;
use crate::table::{self, Closed, Handle};
use crate::{c_str, exports, guarded, message, open, preload};

/// `STATICDL_OPEN_GLOBAL`: the object and its dependencies join the global
/// scope (`RTLD_GLOBAL`).
pub(crate) const STATICDL_OPEN_GLOBAL: c_int = 0x1;
/// `STATICDL_OPEN_KEEP_LOADED`: never unloaded (`RTLD_NODELETE`, Go's rule).
pub(crate) const STATICDL_OPEN_KEEP_LOADED: c_int = 0x2;

/// `staticdl_object_info`: what `staticdl_info` reports.
#[repr(C)]
pub struct ObjectInfo {
    /// The canonical path of the file.
    pub path: *const c_char,
    /// The name it was first opened by.
    pub name: *const c_char,
    /// Its `DT_SONAME`, or null.
    pub soname: *const c_char,
    /// The start of its mapping.
    pub start: usize,
    /// The length of its mapping in bytes.
    pub size: usize,
}

/// `staticdl_handle *staticdl_open(const char *path, int flags)`: opens the
/// plugin or library at `path` as `Plugin::open` does, or returns the one
/// already open from the same file; null on failure (see `staticdl_error`).
///
/// ```c
/// staticdl_handle *h = staticdl_open("plugins/libhello.so", 0);
/// if (!h) fprintf(stderr, "%s\n", staticdl_error());
/// ```
///
/// # Safety
/// `path` is null or a C string.
#[no_mangle]
pub unsafe extern "C" fn staticdl_open(path: *const c_char, flags: c_int) -> *mut c_void {
    // SAFETY: the function's contract.
    let path = unsafe { c_str(path) };
    guarded(std::ptr::null_mut(), || {
        let Some(path) = path else {
            message::fail_both("staticdl_open: null path");
            return std::ptr::null_mut();
        };
        if flags & !(STATICDL_OPEN_GLOBAL | STATICDL_OPEN_KEEP_LOADED) != 0 {
            message::fail_both(&format!("staticdl_open: unknown flags {flags:#x}"));
            return std::ptr::null_mut();
        }
        let how = How {
            global: flags & STATICDL_OPEN_GLOBAL != 0,
            keep_loaded: flags & STATICDL_OPEN_KEEP_LOADED != 0,
            lazy: false,
        };
        open::path(&path.to_string_lossy(), how)
    })
}

/// `void *staticdl_sym(staticdl_handle *h, const char *name)`: `name` (or
/// `name@VERSION`) in the object and its dependencies, breadth-first; with a
/// null handle, the global scope (`dlsym(RTLD_DEFAULT, name)`). Null if
/// nothing defines it.
///
/// ```c
/// int (*add)(int, int) = (int (*)(int, int))staticdl_sym(h, "add");
/// ```
///
/// # Safety
/// `name` is null or a C string.
#[no_mangle]
pub unsafe extern "C" fn staticdl_sym(handle: *mut c_void, name: *const c_char) -> *mut c_void {
    // SAFETY: forwarded contract.
    unsafe {
        crate::dlfcn::staticdl_capi_dlsym(handle, name, std::ptr::null(), std::ptr::null_mut())
    }
}

/// `void *staticdl_vsym(staticdl_handle *h, const char *name, const char
/// *version)`: as `staticdl_sym`, the definition of `name` at `version`.
///
/// ```c
/// void *p = staticdl_vsym(z, "compress", "ZLIB_1.2.0");
/// ```
///
/// # Safety
/// `name` and `version` are null or C strings.
#[no_mangle]
pub unsafe extern "C" fn staticdl_vsym(
    handle: *mut c_void,
    name: *const c_char,
    version: *const c_char,
) -> *mut c_void {
    // SAFETY: forwarded contract.
    unsafe { crate::dlfcn::staticdl_capi_dlsym(handle, name, version, std::ptr::null_mut()) }
}

/// `int staticdl_close(staticdl_handle *h)`: gives up one open. 1 if that was
/// the object's last handle (its `fini` and finalisers ran; it is unmapped
/// unless another loaded object depends on it), 0 if it stays open (another
/// open, or `STATICDL_OPEN_KEEP_LOADED`), -1 for a handle that is not open.
///
/// ```c
/// if (staticdl_close(h) < 0) fprintf(stderr, "%s\n", staticdl_error());
/// ```
#[no_mangle]
pub extern "C" fn staticdl_close(handle: *mut c_void) -> c_int {
    guarded(-1, || match table::close(handle) {
        Closed::Last(true) => 1,
        Closed::Last(false) | Closed::StillOpen | Closed::Fixed => 0,
        Closed::Invalid => {
            message::fail(
                &format!("close: invalid handle {handle:p}"),
                "shared object not open",
            );
            -1
        }
    })
}

/// `const char *staticdl_error(void)`: this thread's last failure of an
/// archive call since the previous `staticdl_error()`, in the facade's wording,
/// or null. The string stays valid until the next call on the same thread.
///
/// ```c
/// const char *why = staticdl_error();
/// ```
#[no_mangle]
pub extern "C" fn staticdl_error() -> *const c_char {
    message::take_staticdl()
}

/// `int staticdl_info(staticdl_handle *h, staticdl_object_info *out)`: the
/// object's path, name, soname and mapping. 0, or -1 for a handle that is not
/// an open object. The strings stay valid for the life of the process.
///
/// ```c
/// staticdl_object_info info;
/// if (staticdl_info(h, &info) == 0) printf("%s at %#lx\n", info.path, (unsigned long)info.start);
/// ```
///
/// # Safety
/// `out` is null or points at a writable `staticdl_object_info`.
#[no_mangle]
pub unsafe extern "C" fn staticdl_info(handle: *mut c_void, out: *mut ObjectInfo) -> c_int {
    guarded(-1, || {
        let Some(Handle::Object(plugin)) = table::resolve(handle) else {
            message::fail_both(&format!("staticdl_info: not an object handle {handle:p}"));
            return -1;
        };
        if out.is_null() {
            message::fail_both("staticdl_info: null result");
            return -1;
        }
        let (start, size) = plugin.address_range();
        let info = ObjectInfo {
            path: table::intern(&plugin.path().to_string_lossy()),
            name: table::name_of(start).unwrap_or(std::ptr::null()),
            soname: plugin.soname().map_or(std::ptr::null(), table::intern),
            start,
            size,
        };
        // SAFETY: the caller's writable struct, checked non-null.
        unsafe { out.write(info) };
        0
    })
}

/// `int staticdl_preload(const char *variable)`: loads the objects the
/// environment variable lists (`STATICDL_PRELOAD` when null); returns how
/// many distinct objects are loaded, or -1 if secure mode refused the list.
///
/// ```c
/// staticdl_preload(NULL); /* STATICDL_PRELOAD="./a.so ./b.so" */
/// ```
///
/// # Safety
/// `variable` is null or a C string.
#[no_mangle]
pub unsafe extern "C" fn staticdl_preload(variable: *const c_char) -> c_int {
    // SAFETY: the function's contract.
    let variable = unsafe { c_str(variable) };
    guarded(-1, || {
        let name = variable.map_or(preload::DEFAULT_VARIABLE.into(), CStr::to_string_lossy);
        let report = preload::preload(&name);
        if report.refused {
            return -1;
        }
        c_int::try_from(report.loaded.len()).unwrap_or(c_int::MAX)
    })
}

/// `int staticdl_export_symbol(const char *name, void *addr)`: offers `name`
/// at `addr` to every object loaded afterwards (asked before their own
/// definitions, as glibc asks an executable linked with `-rdynamic`), and to
/// `dlsym(RTLD_DEFAULT, name)`. 0, or -1 for a null name or address.
///
/// ```c
/// staticdl_export_symbol("host_log", (void *)host_log);
/// ```
///
/// # Safety
/// `name` is null or a C string.
#[no_mangle]
pub unsafe extern "C" fn staticdl_export_symbol(name: *const c_char, addr: *mut c_void) -> c_int {
    // SAFETY: the function's contract.
    let name = unsafe { c_str(name) };
    guarded(-1, || match name {
        Some(n) if !addr.is_null() => {
            exports::export(n.to_bytes(), addr as usize);
            0
        }
        _ => {
            message::fail_both("staticdl_export_symbol: null name or address");
            -1
        }
    })
}

/// `int staticdl_forget_failure(const char *path)`: forgets a remembered
/// failure to open `path`, so that the next open tries again. 1 if one was
/// forgotten, 0 otherwise.
///
/// ```c
/// staticdl_forget_failure("plugins/libflaky.so");
/// ```
///
/// # Safety
/// `path` is null or a C string.
#[no_mangle]
pub unsafe extern "C" fn staticdl_forget_failure(path: *const c_char) -> c_int {
    // SAFETY: the function's contract.
    let path = unsafe { c_str(path) };
    guarded(0, || {
        let Some(path) = path else { return 0 };
        let path = path.to_string_lossy();
        // As `staticdl_open` named it (relative to the working directory) ...
        let mut forgotten = staticdl::forget_failure(&*path);
        // ... and as `dlopen` found a bare name.
        if !path.contains('/') {
            if let Some(found) = crate::search::find(&path) {
                forgotten |= staticdl::forget_failure(found);
            }
        }
        c_int::from(forgotten)
    })
}
