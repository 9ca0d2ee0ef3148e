//! What the archive's `dlopen`, `dlsym`, `dlvsym`, `dlclose` and `dlerror` do.
//!
//! Owns the `staticdl_capi_*` functions that `c/dlfcn.c` forwards the C
//! library names to: `dlopen`'s mode bits, the scopes `dlsym` searches for each
//! kind of handle, and glibc's answers where a call fails. Objects are opened
//! through the facade's registry (`open.rs`), into the one process namespace
//! plugins' own `dlopen` uses. Does not own `dladdr`/`dlinfo` (`address.rs`),
//! the handle table (`table.rs`) or the C names themselves (`c/dlfcn.c`).
//!
//! Unsafe code is allowed in this module: its entry points are C functions
//! (`#[no_mangle]`) taking C strings, and it reads the process's `argv`.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void, CStr};

use crate::open::How;
use crate::table::{self, Closed, Handle};
use crate::{c_str, exports, guarded, message, open, wording};

const RTLD_LAZY: c_int = 0x1;
const RTLD_NOW: c_int = 0x2;
const RTLD_NOLOAD: c_int = 0x4;
const RTLD_DEEPBIND: c_int = 0x8;
const RTLD_GLOBAL: c_int = 0x100;
const RTLD_NODELETE: c_int = 0x1000;
/// Every mode bit glibc accepts.
const KNOWN: c_int =
    RTLD_LAZY | RTLD_NOW | RTLD_NOLOAD | RTLD_DEEPBIND | RTLD_GLOBAL | RTLD_NODELETE;

/// `void *dlopen(const char *file, int mode)`.
///
/// `file` null: the global scope's handle. A name the provider answers
/// (`libc.so.6`, `libm.so.6`, ...): the handle of the host's C library. A name
/// with a slash: that file; a bare name: searched as glibc searches it. The
/// object comes from the facade's registry (`Plugin::open`'s semantics), and
/// each call counts one open of it. Everything is bound at once; with
/// `RTLD_LAZY` (and not `RTLD_NOW`) a function nothing defines is bound to a
/// trap that reports it and aborts if it is called, where glibc would fail
/// at that first call. `RTLD_DEEPBIND` is refused.
///
/// # Safety
/// `file` is null or a C string; `caller` is only compared, never followed.
#[no_mangle]
pub unsafe extern "C" fn staticdl_capi_dlopen(
    file: *const c_char,
    mode: c_int,
    _caller: *mut c_void,
) -> *mut c_void {
    // SAFETY: dlopen's contract.
    let file = unsafe { c_str(file) };
    guarded(std::ptr::null_mut(), || dlopen(file, mode))
}

fn dlopen(file: Option<&CStr>, mode: c_int) -> *mut c_void {
    if mode & !KNOWN != 0 {
        message::fail_both("invalid mode parameter");
        return std::ptr::null_mut();
    }
    let Some(file) = file else {
        return table::main_handle();
    };
    let name = file.to_string_lossy();
    if mode & (RTLD_LAZY | RTLD_NOW) == 0 {
        message::fail_both(&format!(
            "{name}: invalid mode for dlopen(): Invalid argument"
        ));
        return std::ptr::null_mut();
    }
    if mode & RTLD_DEEPBIND != 0 {
        message::fail_both(&format!("{name}: RTLD_DEEPBIND is not supported"));
        return std::ptr::null_mut();
    }
    if staticdl_libc::PROVIDED_LIBRARIES.contains(&&*name) {
        return table::libc_handle();
    }
    let how = How {
        global: mode & RTLD_GLOBAL != 0,
        keep_loaded: mode & RTLD_NODELETE != 0,
        lazy: mode & RTLD_NOW == 0,
    };
    if mode & RTLD_NOLOAD != 0 {
        open::loaded(&name, how)
    } else {
        open::name(&name, how)
    }
}

/// `dlsym` (`version` null) and `dlvsym`.
///
/// The global scope's handle (`RTLD_DEFAULT`, `RTLD_NEXT` alike, and
/// `dlopen(NULL)`'s): the host's exports, the executable's own exported
/// symbols, then the names the provider answers (the host's C library), then
/// every loaded object. The C library's
/// handle: the provider's names. An object's handle: the object, then its
/// dependencies breadth-first, as glibc's `dlsym` searches.
///
/// # Safety
/// `name` and `version` are null or C strings.
#[no_mangle]
pub unsafe extern "C" fn staticdl_capi_dlsym(
    handle: *mut c_void,
    name: *const c_char,
    version: *const c_char,
    _caller: *mut c_void,
) -> *mut c_void {
    // SAFETY: dlsym's contract.
    let (name, version) = unsafe { (c_str(name), c_str(version)) };
    guarded(std::ptr::null_mut(), || dlsym(handle, name, version))
}

fn dlsym(handle: *mut c_void, name: Option<&CStr>, version: Option<&CStr>) -> *mut c_void {
    let Some(name) = name else {
        message::fail_both("dlsym: null symbol name");
        return std::ptr::null_mut();
    };
    let (sym, ver) = (name.to_string_lossy(), version.map(|v| v.to_string_lossy()));
    let (bytes, vbytes) = (name.to_bytes(), version.map(CStr::to_bytes));
    let Some(target) = table::resolve(handle) else {
        message::fail_both(&format!("dlsym: invalid handle {handle:p}"));
        return std::ptr::null_mut();
    };
    let (found, object) = match &target {
        Handle::Default => (default_lookup(bytes, vbytes), program_name()),
        Handle::Libc => (staticdl_libc::symbol(bytes, vbytes), "libc.so.6".to_owned()),
        Handle::Object(p) => {
            let full = match &ver {
                Some(v) => format!("{sym}@{v}"),
                None => sym.to_string(),
            };
            let name = table::name_of(p.address_range().0)
                // SAFETY: interned strings live for the process.
                .map(|n| unsafe { CStr::from_ptr(n) }.to_string_lossy().into_owned())
                .unwrap_or_else(|| p.path().display().to_string());
            let found = p.symbol_address(&full).map(|a| a.as_ptr() as usize);
            (
                found.filter(|a| ver.is_none() || !unversioned(p, &sym, *a)),
                name,
            )
        }
    };
    match found {
        Some(addr) => addr as *mut c_void,
        None => {
            let glibc = wording::undefined_symbol(&object, &sym, ver.as_deref());
            let facade = match &target {
                Handle::Object(p) => staticdl::Error::SymbolNotFound {
                    path: p.path().to_path_buf(),
                    name: ver.map_or_else(|| sym.to_string(), |v| format!("{sym}@{v}")),
                }
                .to_string(),
                _ => glibc.clone(),
            };
            message::fail(&facade, &glibc);
            std::ptr::null_mut()
        }
    }
}

/// Whether the definition of `sym` that `p` gives at `addr` is one without a
/// version: the loader binds such a definition to a reference of any version
/// (as glibc binds relocations), and a version no object defines finds it too;
/// glibc's `dlvsym` accepts only the version asked for.
fn unversioned(p: &staticdl::Plugin, sym: &str, addr: usize) -> bool {
    let probe = format!("{sym}@\u{1}staticdl-no-such-version");
    p.symbol_address(&probe).map(|a| a.as_ptr() as usize) == Some(addr)
}

/// The global scope: the host's exports, the executable's exported symbols
/// (glibc's global scope starts with the executable), the provider's names,
/// every loaded object.
pub(crate) fn default_lookup(name: &[u8], version: Option<&[u8]>) -> Option<usize> {
    exports::lookup(name)
        .or_else(|| staticdl_loader::executable_symbols()?.lookup(name, version))
        .or_else(|| staticdl_libc::default_symbol(name, version))
}

/// The program's name as glibc's messages give the main program: `argv[0]`.
pub(crate) fn program_name() -> String {
    let args = staticdl_loader::runtime::process_args();
    if args.argc < 1 || args.argv == 0 {
        return String::new();
    }
    // SAFETY: `process_args` gives the process's own argv array (argc >= 1, so
    // its first entry is a C string, or null).
    let first = unsafe { *(args.argv as *const *const c_char) };
    // SAFETY: null or a C string of the process's arguments.
    unsafe { c_str(first) }
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `int dlclose(void *handle)`: one open of the object given up; the last one
/// unloads it (unless `RTLD_NODELETE` or another holder keeps it). 0, or -1 for
/// a handle that is not open.
#[no_mangle]
pub extern "C" fn staticdl_capi_dlclose(handle: *mut c_void) -> c_int {
    guarded(-1, || match table::close(handle) {
        Closed::Invalid => {
            message::fail(
                &format!("close: invalid handle {handle:p}"),
                "shared object not open",
            );
            -1
        }
        Closed::StillOpen | Closed::Last(_) | Closed::Fixed => 0,
    })
}

/// `char *dlerror(void)`: the message of this thread's last failure since the
/// previous call, in glibc's wording, or null.
#[no_mangle]
pub extern "C" fn staticdl_capi_dlerror() -> *mut c_char {
    message::take_dl() as *mut c_char
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error() -> Option<String> {
        let p = staticdl_capi_dlerror();
        // SAFETY: null or the slot's C string.
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }

    #[test]
    fn modes_are_checked_like_glibc() {
        assert!(dlopen(Some(c"libz.so.1"), 0).is_null());
        assert_eq!(
            error().as_deref(),
            Some("libz.so.1: invalid mode for dlopen(): Invalid argument")
        );
        assert!(dlopen(Some(c"libz.so.1"), RTLD_NOW | 0x40_0000).is_null());
        assert_eq!(error().as_deref(), Some("invalid mode parameter"));
        assert_eq!(dlopen(None, RTLD_NOW), table::main_handle());
        assert_eq!(dlopen(Some(c"libm.so.6"), RTLD_LAZY), table::libc_handle());
    }

    #[test]
    fn the_c_library_handle_finds_the_hosts_functions() {
        let h = dlopen(Some(c"libc.so.6"), RTLD_NOW);
        let p = dlsym(h, Some(c"strlen"), None);
        assert_eq!(Some(p as usize), staticdl_libc::symbol(b"strlen", None));
        assert!(dlsym(h, Some(c"staticdl_no_such_function"), None).is_null());
        // glibc's wording ends every such message.
        assert!(error()
            .unwrap()
            .ends_with(": undefined symbol: staticdl_no_such_function"));
        assert_eq!(staticdl_capi_dlclose(h), 0);
    }

    #[test]
    fn closing_a_stranger_fails() {
        assert_eq!(staticdl_capi_dlclose(16 as *mut c_void), -1);
        assert_eq!(error().as_deref(), Some("shared object not open"));
        assert!(error().is_none());
    }
}
