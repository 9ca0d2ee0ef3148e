//! The `<dlfcn.h>` and `<link.h>` interface as plugins see it: `dlopen`, `dlsym`,
//! `dlvsym`, `dlclose`, `dlerror`, `dladdr`, `dl_iterate_phdr` and glibc's
//! `_dl_find_object`, all answered by staticdl itself.
//!
//! Owns the handle table of objects opened through `dlopen`, the per-thread
//! `dlerror` message, and the process-wide view of loaded objects that
//! unwinders read: the host executable first, then every object the loader
//! mapped. In a static musl host it also defines the strong `dl_iterate_phdr`
//! that replaces musl's weak single-object one, so the host's own unwinder
//! finds plugin code; that is the only C library name staticdl defines, and
//! until a plugin is loaded it reports exactly what musl's would.
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
use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use staticdl_loader::runtime::{self, DlIterateCallback, DlPhdrInfo};
use staticdl_loader::{ErrorKind, Library, SymbolName};

const RTLD_NOLOAD: c_int = 0x4;
const RTLD_GLOBAL: c_int = 0x100;
const RTLD_NODELETE: c_int = 0x1000;
/// `RTLD_NEXT` as glibc spells it, `(void *) -1`.
const RTLD_NEXT: usize = usize::MAX;

const PT_LOAD: u32 = 1;
const PT_GNU_EH_FRAME: u32 = 0x6474_e550;

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
fn library_path() -> &'static [PathBuf] {
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
fn default_lookup(name: &[u8], version: Option<&[u8]>) -> Option<usize> {
    super::table::lookup(name, version).or_else(|| {
        loaded_objects()
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

// ---- the object list ----

/// Every object the loader has mapped, from its process-wide list (no
/// namespace lock taken).
fn loaded_objects() -> Vec<Library> {
    unsafe extern "C" fn collect(info: *mut DlPhdrInfo, _size: usize, data: *mut c_void) -> c_int {
        // SAFETY: called by `iterate_loaded_phdrs` with a valid info, and `data`
        // is the Vec passed below.
        let (info, out) = unsafe { (&*info, &mut *(data as *mut Vec<usize>)) };
        if let Some(addr) = first_load(info) {
            out.push(addr);
        }
        0
    }
    let mut starts: Vec<usize> = Vec::new();
    // SAFETY: `collect` only reads the info and pushes to the Vec it is given.
    unsafe {
        runtime::iterate_loaded_phdrs(collect, &mut starts as *mut Vec<usize> as *mut c_void)
    };
    starts.into_iter().filter_map(Library::containing).collect()
}

/// The program headers of an info.
fn phdrs(info: &DlPhdrInfo) -> &[Phdr] {
    if info.dlpi_phdr.is_null() {
        return &[];
    }
    // SAFETY: every `DlPhdrInfo` reported here points at `dlpi_phnum` mapped
    // program headers of its object (the loader's or the kernel's).
    unsafe { std::slice::from_raw_parts(info.dlpi_phdr as *const Phdr, info.dlpi_phnum as usize) }
}

fn first_load(info: &DlPhdrInfo) -> Option<usize> {
    phdrs(info)
        .iter()
        .find(|p| p.p_type == PT_LOAD)
        .map(|p| info.dlpi_addr.wrapping_add(p.p_vaddr as usize))
}

/// `Elf64_Phdr`.
#[repr(C)]
#[derive(Clone, Copy)]
struct Phdr {
    p_type: u32,
    p_flags: u32,
    p_offset: u64,
    p_vaddr: u64,
    p_paddr: u64,
    p_filesz: u64,
    p_memsz: u64,
    p_align: u64,
}

// ---- dl_iterate_phdr ----

/// `int dl_iterate_phdr(callback, data)`: the host executable first, then every
/// loaded object in load order, until the callback returns non-zero.
pub(super) unsafe extern "C" fn iterate_phdr(
    callback: Option<DlIterateCallback>,
    data: *mut c_void,
) -> c_int {
    let Some(cb) = callback else { return 0 };
    // SAFETY: the callback contract is the caller's, as with any dl_iterate_phdr.
    let r = unsafe { host_objects(cb, data) };
    if r != 0 {
        return r;
    }
    // SAFETY: as above.
    unsafe { runtime::iterate_loaded_phdrs(cb, data) }
}

#[cfg(all(target_env = "musl", target_feature = "crt-static"))]
extern "C" {
    fn staticdl_host_phdr_info(info: *mut DlPhdrInfo, adds: u64, subs: u64);
}

/// The host executable, reported field by field as musl's static
/// `dl_iterate_phdr` reports it (see `staticdl_host_phdr_info` in `c/host_phdr.c`).
///
/// # Safety
/// `cb` must be callable with a valid info.
#[cfg(all(target_env = "musl", target_feature = "crt-static"))]
unsafe fn host_objects(cb: DlIterateCallback, data: *mut c_void) -> c_int {
    let mut info = std::mem::MaybeUninit::<DlPhdrInfo>::zeroed();
    let (adds, subs) = runtime::phdr_counts();
    // SAFETY: fills every field of a correctly sized struct.
    unsafe { staticdl_host_phdr_info(info.as_mut_ptr(), adds, subs) };
    // SAFETY: the info is initialised and lives across the call.
    unsafe { cb(info.as_mut_ptr(), std::mem::size_of::<DlPhdrInfo>(), data) }
}

/// In a dynamically linked host, the C library's own loader knows the host's
/// objects: its `dl_iterate_phdr` reports them.
///
/// # Safety
/// `cb` must be callable with a valid info.
#[cfg(not(all(target_env = "musl", target_feature = "crt-static")))]
unsafe fn host_objects(cb: DlIterateCallback, data: *mut c_void) -> c_int {
    type LibcCallback =
        unsafe extern "C" fn(*mut libc::dl_phdr_info, libc::size_t, *mut c_void) -> c_int;
    // SAFETY: `DlPhdrInfo` is glibc's `struct dl_phdr_info` (repr(C), same
    // fields), so the two callback types are the same C function type.
    let cb = unsafe { std::mem::transmute::<DlIterateCallback, LibcCallback>(cb) };
    // SAFETY: the C library calls `cb` with its own valid infos.
    unsafe { libc::dl_iterate_phdr(Some(cb), data) }
}

/// The one C library name staticdl defines, in a static musl host only: the
/// strong `dl_iterate_phdr` that the host's unwinder (LLVM libunwind) and
/// backtrace symboliser call, in place of musl's weak one-object version.
#[cfg(all(target_env = "musl", target_feature = "crt-static"))]
mod exported {
    use super::*;

    /// `int dl_iterate_phdr(int (*)(struct dl_phdr_info *, size_t, void *), void *)`.
    ///
    /// # Safety
    /// As the C function: `callback` must accept the infos it is given.
    #[no_mangle]
    pub unsafe extern "C" fn dl_iterate_phdr(
        callback: Option<DlIterateCallback>,
        data: *mut c_void,
    ) -> c_int {
        // SAFETY: forwarded contract.
        unsafe { iterate_phdr(callback, data) }
    }
}

/// What the table hands plugins for `dl_iterate_phdr`. In a static musl host it
/// is the exported strong symbol itself: the reference from the table is what
/// makes the static linker take it instead of musl's weak one.
#[cfg(all(target_env = "musl", target_feature = "crt-static"))]
pub(super) use exported::dl_iterate_phdr as iterate_phdr_entry;
#[cfg(not(all(target_env = "musl", target_feature = "crt-static")))]
pub(super) use iterate_phdr as iterate_phdr_entry;

/// Run `f` on every object (host first) until it returns true.
fn each_object(mut f: impl FnMut(&DlPhdrInfo) -> bool) {
    unsafe extern "C" fn trampoline(info: *mut DlPhdrInfo, _: usize, data: *mut c_void) -> c_int {
        // SAFETY: `data` is the `&mut dyn FnMut` below, valid during the walk, and
        // `info` is valid for the call.
        let f = unsafe { &mut *(data as *mut &mut dyn FnMut(&DlPhdrInfo) -> bool) };
        // SAFETY: as above.
        c_int::from(f(unsafe { &*info }))
    }
    let mut dyn_f: &mut dyn FnMut(&DlPhdrInfo) -> bool = &mut f;
    // SAFETY: `trampoline` matches the callback contract and `data` outlives the
    // walk.
    unsafe {
        iterate_phdr(
            Some(trampoline),
            &mut dyn_f as *mut &mut dyn FnMut(&DlPhdrInfo) -> bool as *mut c_void,
        )
    };
}

/// The `PT_LOAD` span of `info` if it contains `addr`: (start, end).
fn span_containing(info: &DlPhdrInfo, addr: usize) -> Option<(usize, usize)> {
    let loads = phdrs(info).iter().filter(|p| p.p_type == PT_LOAD);
    let mut hit = false;
    let (mut lo, mut hi) = (usize::MAX, 0usize);
    for p in loads {
        let start = info.dlpi_addr.wrapping_add(p.p_vaddr as usize);
        let end = start.wrapping_add(p.p_memsz as usize);
        hit |= addr >= start && addr < end;
        lo = lo.min(start);
        hi = hi.max(end);
    }
    hit.then_some((lo, hi))
}

// ---- _dl_find_object ----

/// glibc's `struct dl_find_object` (2.35).
#[repr(C)]
pub(super) struct DlFindObject {
    flags: u64,
    map_start: *mut c_void,
    map_end: *mut c_void,
    link_map: *mut c_void,
    eh_frame: *mut c_void,
    reserved: [u64; 7],
}

/// `int _dl_find_object(void *pc, struct dl_find_object *result)`: what
/// libgcc's unwinder (statically linked into C++ plugins built with
/// `-static-libgcc`) uses to find the `PT_GNU_EH_FRAME` of the object holding
/// `pc`. 0 on success, -1 if no object contains `pc`. `dlfo_link_map` is null:
/// there is no `struct link_map` (x86-64 libgcc does not read it).
pub(super) unsafe extern "C" fn find_object(pc: *mut c_void, result: *mut DlFindObject) -> c_int {
    let pc = pc as usize;
    let mut found: Option<(usize, usize, usize)> = None;
    each_object(|info| {
        let Some((lo, hi)) = span_containing(info, pc) else {
            return false;
        };
        let eh = phdrs(info)
            .iter()
            .find(|p| p.p_type == PT_GNU_EH_FRAME)
            .map_or(0, |p| info.dlpi_addr.wrapping_add(p.p_vaddr as usize));
        found = Some((lo, hi, eh));
        true
    });
    let Some((lo, hi, eh)) = found else { return -1 };
    if result.is_null() {
        return -1;
    }
    // SAFETY: `result` points at the caller's struct (the function's contract).
    unsafe {
        result.write(DlFindObject {
            flags: 0,
            map_start: lo as *mut c_void,
            map_end: hi as *mut c_void,
            link_map: std::ptr::null_mut(),
            eh_frame: eh as *mut c_void,
            reserved: [0; 7],
        })
    };
    0
}

// ---- dladdr ----

/// glibc's `Dl_info`.
#[repr(C)]
pub(super) struct DlInfo {
    fname: *const c_char,
    fbase: *mut c_void,
    sname: *const c_char,
    saddr: *mut c_void,
}

/// Names handed out by `dladdr`, kept for the life of the process (glibc's stay
/// valid while the object is loaded; these outlive it).
fn interned(s: &str) -> *const c_char {
    static NAMES: OnceLock<Mutex<HashMap<String, CString>>> = OnceLock::new();
    let mut names = lock(NAMES.get_or_init(Default::default));
    names
        .entry(s.to_string())
        .or_insert_with(|| CString::new(s.replace('\0', "?")).unwrap_or_default())
        .as_ptr()
}

/// `int dladdr(const void *addr, Dl_info *info)`: the object containing
/// `addr` and the nearest exported symbol at or below it. For the host
/// executable, only the file (`/proc/self/exe`) and base are known.
pub(super) unsafe extern "C" fn dladdr(addr: *const c_void, info: *mut DlInfo) -> c_int {
    if info.is_null() {
        return 0;
    }
    let addr = addr as usize;
    let out = if let Some(lib) = Library::containing(addr) {
        let (base, _) = lib.address_range();
        let mut best: Option<(usize, String)> = None;
        for name in lib.exports() {
            let Some(p) = lib.lookup_here(&SymbolName::new(&name)) else {
                continue;
            };
            let a = p.as_ptr() as usize;
            if a <= addr && lib.contains(a) && best.as_ref().is_none_or(|(b, _)| a > *b) {
                best = Some((a, name));
            }
        }
        DlInfo {
            fname: interned(&lib.path().to_string_lossy()),
            fbase: base as *mut c_void,
            sname: best.as_ref().map_or(std::ptr::null(), |(_, n)| interned(n)),
            saddr: best.map_or(std::ptr::null_mut(), |(a, _)| a as *mut c_void),
        }
    } else {
        let mut host: Option<(usize, *const c_char)> = None;
        each_object(|i| {
            if let Some((lo, _)) = span_containing(i, addr) {
                host = Some((lo, i.dlpi_name));
            }
            true // only the first object, the host executable
        });
        let Some((lo, name)) = host else { return 0 };
        DlInfo {
            fname: name,
            fbase: lo as *mut c_void,
            sname: std::ptr::null(),
            saddr: std::ptr::null_mut(),
        }
    };
    // SAFETY: `info` points at the caller's Dl_info.
    unsafe { info.write(out) };
    1
}

/// `int dladdr1(const void *addr, Dl_info *info, void **extra, int flags)`:
/// `dladdr`, with no extra information (`*extra` set to null).
pub(super) unsafe extern "C" fn dladdr1(
    addr: *const c_void,
    info: *mut DlInfo,
    extra: *mut *mut c_void,
    _flags: c_int,
) -> c_int {
    if !extra.is_null() {
        // SAFETY: `extra` points at the caller's pointer.
        unsafe { *extra = std::ptr::null_mut() };
    }
    // SAFETY: forwarded contract.
    unsafe { dladdr(addr, info) }
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

    #[test]
    fn dladdr_finds_the_host_executable() {
        let here = dladdr_finds_the_host_executable as *const () as *const c_void;
        let mut info = std::mem::MaybeUninit::<DlInfo>::zeroed();
        // SAFETY: `info` is a writable Dl_info.
        assert_eq!(unsafe { dladdr(here, info.as_mut_ptr()) }, 1);
        // SAFETY: filled by the successful call.
        let info = unsafe { info.assume_init() };
        assert!(info.fbase as usize <= here as usize);
        assert!(info.sname.is_null());
        // SAFETY: a writable Dl_info; address 8 is in no object.
        assert_eq!(unsafe { dladdr(8 as *const c_void, &mut { info }) }, 0);
    }

    #[test]
    fn the_host_is_reported_first_and_found_by_pc() {
        let mut first: Option<usize> = None;
        each_object(|i| {
            first = Some(i.dlpi_phnum as usize);
            true
        });
        assert!(first.unwrap() > 0);
        let mut f = std::mem::MaybeUninit::<DlFindObject>::zeroed();
        let pc = the_host_is_reported_first_and_found_by_pc as *const () as usize;
        // SAFETY: `f` is a writable struct of the right type.
        assert_eq!(unsafe { find_object(pc as *mut c_void, f.as_mut_ptr()) }, 0);
        // SAFETY: initialised by the successful call.
        let f = unsafe { f.assume_init() };
        assert!((f.map_start as usize) <= pc && pc < f.map_end as usize);
        assert!(!f.eh_frame.is_null());
    }
}
