//! What the archive's `dladdr`, `dladdr1` and `dlinfo` answer.
//!
//! Owns the address-to-object answers (`Dl_info`: the object's name, its base,
//! the nearest exported symbol at or below the address) and the `dlinfo`
//! requests glibc defines, each answered from the object's entry in the
//! process's object list (`dl_iterate_phdr`: load bias, program headers, TLS
//! module) and the handle table (its name and link map). Does not own the
//! handle table (`table.rs`) or the object list (the loader's runtime and the
//! provider's `dl_iterate_phdr`).
//!
//! Unsafe code is allowed in this module: its entry points are C functions
//! (`#[no_mangle]`) that write through the caller's pointers, and it reads the
//! program headers the object list points at.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void};

use staticdl_loader::{Library, SymbolName};

use crate::table::{self, Handle, LinkMap};
use crate::{guarded, message};

/// glibc's `Dl_info`.
#[repr(C)]
pub(crate) struct DlInfo {
    dli_fname: *const c_char,
    dli_fbase: *mut c_void,
    dli_sname: *const c_char,
    dli_saddr: *mut c_void,
}

const RTLD_DL_LINKMAP: c_int = 2;

const RTLD_DI_LMID: c_int = 1;
const RTLD_DI_LINKMAP: c_int = 2;
const RTLD_DI_ORIGIN: c_int = 6;
const RTLD_DI_TLS_MODID: c_int = 9;
const RTLD_DI_TLS_DATA: c_int = 10;
const RTLD_DI_PHDR: c_int = 11;

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;

/// What the object list says about one object.
#[derive(Clone, Copy)]
struct Listed {
    bias: usize,
    phdr: *const libc::Elf64_Phdr,
    phnum: u16,
    tls_modid: usize,
    tls_data: *mut c_void,
    /// The lowest and highest address its `PT_LOAD` segments cover.
    span: (usize, usize),
}

impl Listed {
    fn phdrs(&self) -> &[libc::Elf64_Phdr] {
        if self.phdr.is_null() {
            return &[];
        }
        // SAFETY: the object list points at `phnum` mapped program headers of
        // the object, which stays mapped while its handle is open (every caller
        // holds one, or reads the executable's, mapped for ever).
        unsafe { std::slice::from_raw_parts(self.phdr, usize::from(self.phnum)) }
    }

    fn dynamic(&self) -> *const c_void {
        self.phdrs()
            .iter()
            .find(|p| p.p_type == PT_DYNAMIC)
            .map_or(std::ptr::null(), |p| {
                self.bias.wrapping_add(p.p_vaddr as usize) as *const c_void
            })
    }
}

/// The first object of the process's list (the executable comes first) whose
/// `PT_LOAD` segments contain `addr`.
fn listed_containing(addr: usize) -> Option<Listed> {
    unsafe extern "C" fn visit(
        info: *mut libc::dl_phdr_info,
        _size: usize,
        data: *mut c_void,
    ) -> c_int {
        // SAFETY: called by dl_iterate_phdr with a valid info, and `data` is
        // the `(addr, found)` pair below, alive during the walk.
        let (info, (addr, found)) =
            unsafe { (&*info, &mut *(data as *mut (usize, Option<Listed>))) };
        let mut listed = Listed {
            bias: info.dlpi_addr as usize,
            phdr: info.dlpi_phdr,
            phnum: info.dlpi_phnum,
            tls_modid: info.dlpi_tls_modid,
            tls_data: info.dlpi_tls_data,
            span: (usize::MAX, 0),
        };
        let mut hit = false;
        let mut span = listed.span;
        for p in listed.phdrs().iter().filter(|p| p.p_type == PT_LOAD) {
            let start = listed.bias.wrapping_add(p.p_vaddr as usize);
            let end = start.wrapping_add(p.p_memsz as usize);
            hit |= (start..end).contains(addr);
            span = (span.0.min(start), span.1.max(end));
        }
        listed.span = span;
        if hit {
            *found = Some(listed);
        }
        c_int::from(hit)
    }
    let mut state: (usize, Option<Listed>) = (addr, None);
    // SAFETY: `visit` follows the callback contract and only writes `state`.
    unsafe {
        libc::dl_iterate_phdr(
            Some(visit),
            &mut state as *mut (usize, Option<Listed>) as *mut c_void,
        )
    };
    state.1
}

/// The nearest symbol `lib` exports at or below `addr` inside it.
fn nearest_export(lib: &Library, addr: usize) -> Option<(usize, String)> {
    let mut best: Option<(usize, String)> = None;
    for name in lib.exports() {
        let Some(p) = lib.lookup_here(&SymbolName::new(&name)) else {
            continue;
        };
        let at = p.as_ptr() as usize;
        if at <= addr && lib.contains(at) && best.as_ref().is_none_or(|(b, _)| at > *b) {
            best = Some((at, name));
        }
    }
    best
}

/// `dladdr1(addr, info, extra, flags)` and (`extra` null) `dladdr`: 1 if
/// `addr` lies in a loaded object or the executable, 0 otherwise.
///
/// # Safety
/// `info` is null or points at a writable `Dl_info`; `extra`, null or at a
/// writable pointer.
#[no_mangle]
pub unsafe extern "C" fn staticdl_capi_dladdr(
    addr: *const c_void,
    info: *mut c_void,
    extra: *mut *mut c_void,
    flags: c_int,
) -> c_int {
    let info = info as *mut DlInfo;
    if info.is_null() {
        return 0;
    }
    if !extra.is_null() {
        // SAFETY: the caller's writable pointer.
        unsafe { *extra = std::ptr::null_mut() };
    }
    guarded(0, || {
        let Some((out, link_map)) = describe(addr as usize, flags == RTLD_DL_LINKMAP) else {
            return 0;
        };
        // SAFETY: the caller's writable Dl_info (checked non-null above).
        unsafe { info.write(out) };
        if let (false, Some(m)) = (extra.is_null(), link_map) {
            // SAFETY: as above.
            unsafe { *extra = m as *mut c_void };
        }
        1
    })
}

/// The `Dl_info` of `addr`, with the object's link map if asked for and the
/// object is in the table.
fn describe(addr: usize, want_map: bool) -> Option<(DlInfo, Option<*mut LinkMap>)> {
    if let Some(lib) = Library::containing(addr) {
        let start = lib.address_range().0;
        let fname =
            table::name_of(start).unwrap_or_else(|| table::intern(&lib.path().to_string_lossy()));
        let near = nearest_export(&lib, addr);
        let map = want_map.then(|| link_map(start as *mut c_void)).flatten();
        let out = DlInfo {
            dli_fname: fname,
            dli_fbase: start as *mut c_void,
            dli_sname: near
                .as_ref()
                .map_or(std::ptr::null(), |(_, n)| table::intern(n)),
            dli_saddr: near.map_or(std::ptr::null_mut(), |(a, _)| a as *mut c_void),
        };
        return Some((out, map));
    }
    // Not an object the loader mapped: the executable (the list's first entry),
    // named as glibc names the main program, by `argv[0]`.
    let host = listed_containing(addr)?;
    let out = DlInfo {
        dli_fname: table::intern(&crate::dlfcn::program_name()),
        dli_fbase: host.span.0 as *mut c_void,
        dli_sname: std::ptr::null(),
        dli_saddr: std::ptr::null_mut(),
    };
    Some((out, None))
}

/// The link map of the object with `handle`, made once from the object list.
fn link_map(handle: *mut c_void) -> Option<*mut LinkMap> {
    table::link_map(handle, |name| {
        let listed = listed_containing(handle as usize)?;
        Some(LinkMap {
            l_addr: listed.bias,
            l_name: name,
            l_ld: listed.dynamic(),
            l_next: std::ptr::null_mut(),
            l_prev: std::ptr::null_mut(),
        })
    })
}

/// `int dlinfo(void *handle, int request, void *arg)`.
///
/// # Safety
/// `arg` points at what glibc documents for `request` (a `Lmid_t`, a
/// `struct link_map *`, a buffer of `PATH_MAX` bytes, ...).
#[no_mangle]
pub unsafe extern "C" fn staticdl_capi_dlinfo(
    handle: *mut c_void,
    request: c_int,
    arg: *mut c_void,
) -> c_int {
    guarded(-1, || {
        let Some(target) = table::resolve(handle) else {
            message::fail_both(&format!("dlinfo: invalid handle {handle:p}"));
            return -1;
        };
        if arg.is_null() {
            message::fail_both("dlinfo: null argument");
            return -1;
        }
        // SAFETY: the caller's contract for each request.
        unsafe { answer(handle, &target, request, arg) }
    })
}

/// One `dlinfo` request about an object of the table.
///
/// # Safety
/// As [`staticdl_capi_dlinfo`]; `arg` is not null.
unsafe fn answer(handle: *mut c_void, target: &Handle, request: c_int, arg: *mut c_void) -> c_int {
    if request == RTLD_DI_LMID {
        // SAFETY: `arg` is a `Lmid_t *` (a long); one namespace, LM_ID_BASE.
        unsafe { *(arg as *mut libc::c_long) = 0 };
        return 0;
    }
    let Handle::Object(plugin) = target else {
        message::fail_both("unsupported dlinfo request");
        return -1;
    };
    let Some(listed) = listed_containing(handle as usize) else {
        message::fail_both("dlinfo: the object is not in the object list");
        return -1;
    };
    match request {
        RTLD_DI_LINKMAP => match link_map(handle) {
            // SAFETY: `arg` is a `struct link_map **`.
            Some(m) => unsafe { *(arg as *mut *mut LinkMap) = m },
            None => {
                message::fail_both("dlinfo: no link map");
                return -1;
            }
        },
        RTLD_DI_ORIGIN => {
            let dir = plugin
                .path()
                .parent()
                .map(|d| d.to_string_lossy().into_owned())
                .unwrap_or_default();
            let bytes = dir.as_bytes();
            // SAFETY: `arg` is a buffer of at least PATH_MAX bytes (glibc's
            // contract); a canonical directory path is shorter.
            unsafe {
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), arg as *mut u8, bytes.len());
                *(arg as *mut u8).add(bytes.len()) = 0;
            }
        }
        // SAFETY: `arg` is a `size_t *`.
        RTLD_DI_TLS_MODID => unsafe { *(arg as *mut usize) = listed.tls_modid },
        // SAFETY: `arg` is a `void **`.
        RTLD_DI_TLS_DATA => unsafe { *(arg as *mut *mut c_void) = listed.tls_data },
        RTLD_DI_PHDR => {
            // SAFETY: `arg` is a `const ElfW(Phdr) **`.
            unsafe { *(arg as *mut *const libc::Elf64_Phdr) = listed.phdr };
            return c_int::from(listed.phnum);
        }
        _ => {
            message::fail_both("unsupported dlinfo request");
            return -1;
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn the_executable_is_described_by_argv0() {
        let here = the_executable_is_described_by_argv0 as *const () as *const c_void;
        let mut info = std::mem::MaybeUninit::<DlInfo>::zeroed();
        // SAFETY: a writable Dl_info, no extra.
        let r = unsafe {
            staticdl_capi_dladdr(
                here,
                info.as_mut_ptr() as *mut c_void,
                std::ptr::null_mut(),
                0,
            )
        };
        assert_eq!(r, 1);
        // SAFETY: filled by the successful call.
        let info = unsafe { info.assume_init() };
        assert!(info.dli_fbase as usize <= here as usize);
        // SAFETY: an interned C string.
        let fname = unsafe { CStr::from_ptr(info.dli_fname) }
            .to_string_lossy()
            .into_owned();
        assert_eq!(fname, std::env::args().next().unwrap());
        assert!(listed_containing(here as usize).is_some());
    }

    #[test]
    fn no_object_holds_a_low_address() {
        let mut info = std::mem::MaybeUninit::<DlInfo>::zeroed();
        // SAFETY: a writable Dl_info; address 8 is in no object.
        let r = unsafe {
            staticdl_capi_dladdr(
                8 as *const c_void,
                info.as_mut_ptr() as *mut c_void,
                std::ptr::null_mut(),
                0,
            )
        };
        assert_eq!(r, 0);
    }

    #[test]
    fn dlinfo_of_fixed_handles() {
        let mut lmid: libc::c_long = 7;
        // SAFETY: a Lmid_t for RTLD_DI_LMID.
        let r = unsafe {
            staticdl_capi_dlinfo(
                table::main_handle(),
                RTLD_DI_LMID,
                &mut lmid as *mut _ as *mut c_void,
            )
        };
        assert_eq!((r, lmid), (0, 0));
        let mut p: *mut c_void = std::ptr::null_mut();
        // SAFETY: a pointer slot; the request is refused for the global scope.
        let r = unsafe {
            staticdl_capi_dlinfo(
                table::main_handle(),
                RTLD_DI_LINKMAP,
                &mut p as *mut _ as *mut c_void,
            )
        };
        assert_eq!(r, -1);
        // SAFETY: as above; 8 is no handle.
        let r = unsafe {
            staticdl_capi_dlinfo(
                8 as *mut c_void,
                RTLD_DI_LMID,
                &mut p as *mut _ as *mut c_void,
            )
        };
        assert_eq!(r, -1);
    }
}
