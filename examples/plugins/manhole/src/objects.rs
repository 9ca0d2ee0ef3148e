//! The objects loaded in the process, as `dl_iterate_phdr` lists them (staticdl
//! answers it for plugins: the executable first, then every object its loader
//! mapped): path, soname, address range, TLS block, and the plugin's name and
//! version from its `STATICDL_PLUGIN` descriptor.

use std::ffi::{c_char, c_int, c_void, CStr, CString};

#[repr(C)]
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

#[repr(C)]
struct DlPhdrInfo {
    addr: usize,
    name: *const c_char,
    phdr: *const Phdr,
    phnum: u16,
    adds: u64,
    subs: u64,
    tls_modid: usize,
    tls_data: *mut c_void,
}

type Callback = extern "C" fn(info: *mut DlPhdrInfo, size: usize, data: *mut c_void) -> c_int;

extern "C" {
    fn dl_iterate_phdr(callback: Callback, data: *mut c_void) -> c_int;
    fn dlopen(file: *const c_char, flags: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, name: *const c_char) -> *mut c_void;
    fn dlclose(handle: *mut c_void) -> c_int;
}

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_TLS: u32 = 7;
const DT_NULL: i64 = 0;
const DT_STRTAB: i64 = 5;
const DT_SONAME: i64 = 14;
const RTLD_LAZY: c_int = 1;
const RTLD_NOLOAD: c_int = 4;

/// One loaded object.
pub struct Object {
    /// Its path (empty for the executable).
    pub path: String,
    pub soname: Option<String>,
    pub start: usize,
    pub end: usize,
    /// TLS module id and block size, if it has a TLS block.
    pub tls: Option<(usize, u64)>,
    /// The plugin's declared name and version, if it has a descriptor.
    pub plugin: Option<(String, String)>,
}

/// The soname from the object's dynamic section (`DT_STRTAB` may hold an
/// address or, unrelocated, an offset from the base).
///
/// # Safety
/// `info` describes a mapped object.
unsafe fn soname(info: &DlPhdrInfo, phdrs: &[Phdr], start: usize, end: usize) -> Option<String> {
    let dynamic = phdrs.iter().find(|p| p.p_type == PT_DYNAMIC)?;
    let mut at = (info.addr + dynamic.p_vaddr as usize) as *const [u64; 2];
    let (mut strtab, mut name) = (None, None);
    for _ in 0..4096 {
        // SAFETY: the dynamic section of a mapped object, up to DT_NULL.
        let [tag, val] = unsafe { *at };
        match tag as i64 {
            DT_NULL => break,
            DT_STRTAB => strtab = Some(val as usize),
            DT_SONAME => name = Some(val as usize),
            _ => {}
        }
        // SAFETY: still inside the section (DT_NULL ends it).
        at = unsafe { at.add(1) };
    }
    let mut table = strtab?;
    if !(start..end).contains(&table) {
        table += info.addr;
    }
    let p = (table + name?) as *const c_char;
    // SAFETY: a string of the object's dynamic string table.
    Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// The name and version its descriptor declares, if it has one.
fn plugin(path: &str) -> Option<(String, String)> {
    let c = CString::new(path).ok()?;
    // SAFETY: a C string; RTLD_NOLOAD only finds an object already loaded.
    let handle = unsafe { dlopen(c.as_ptr(), RTLD_LAZY | RTLD_NOLOAD) };
    if handle.is_null() {
        return None;
    }
    // SAFETY: a handle from dlopen and a C string.
    let d = unsafe { dlsym(handle, c"STATICDL_PLUGIN".as_ptr()) }
        as *const staticdl_abi::PluginDescriptor;
    let found = if d.is_null() {
        None
    } else {
        // SAFETY: the object exports its descriptor under that name, and stays
        // loaded while the handle is open.
        unsafe { (*d).validate() }
            .ok()
            .map(|i| (i.name().to_owned(), i.version().to_owned()))
    };
    // SAFETY: the handle dlopen returned.
    unsafe { dlclose(handle) };
    found
}

extern "C" fn collect(info: *mut DlPhdrInfo, _size: usize, data: *mut c_void) -> c_int {
    // SAFETY: called by dl_iterate_phdr with a valid info, `data` is the Vec
    // passed below.
    let (info, out) = unsafe { (&*info, &mut *(data as *mut Vec<Object>)) };
    let phdrs = if info.phdr.is_null() {
        &[][..]
    } else {
        // SAFETY: `phnum` program headers at `phdr`.
        unsafe { std::slice::from_raw_parts(info.phdr, info.phnum as usize) }
    };
    let loads = phdrs.iter().filter(|p| p.p_type == PT_LOAD);
    let start = loads.clone().map(|p| p.p_vaddr).min().unwrap_or(0) as usize + info.addr;
    let end = loads.map(|p| p.p_vaddr + p.p_memsz).max().unwrap_or(0) as usize + info.addr;
    let path = if info.name.is_null() {
        String::new()
    } else {
        // SAFETY: a NUL-terminated name.
        unsafe { CStr::from_ptr(info.name) }
            .to_string_lossy()
            .into_owned()
    };
    let tls = phdrs
        .iter()
        .find(|p| p.p_type == PT_TLS)
        .map(|p| (info.tls_modid, p.p_memsz));
    // SAFETY: the object is mapped while the callback runs.
    let soname = unsafe { soname(info, phdrs, start, end) };
    out.push(Object {
        path,
        soname,
        start,
        end,
        tls,
        plugin: None,
    });
    0
}

/// Every loaded object, the executable first.
pub fn loaded() -> Vec<Object> {
    let mut out: Vec<Object> = Vec::new();
    // SAFETY: `collect` only reads the info and pushes to the Vec it is given.
    unsafe { dl_iterate_phdr(collect, &mut out as *mut Vec<Object> as *mut c_void) };
    // Descriptors are read after the walk (dlopen must not run inside it).
    for o in &mut out {
        if o.path.starts_with('/') {
            o.plugin = plugin(&o.path);
        }
    }
    out
}
