//! dlopen-rs, with `RTLD_NOW | RTLD_LOCAL`: open, look up, close.
//!
//! Not a module of the library: only the binaries that measure dlopen-rs include it
//! (`#[path]`), because linking dlopen-rs into a program replaces glibc's loader in
//! it. The crate defines `dlopen`, `dlsym`, `dlclose`, `dladdr`, `dl_iterate_phdr`
//! and `_dl_find_object` as exported C symbols; the executable's definitions win over
//! libc.so.6's, so the libc crate's and libloading's `dlopen` calls land in dlopen-rs.
//! Binaries that measure glibc or libloading must not reference this crate at all
//! (an unreferenced dependency is not linked).

use dlopen_rs::{ElfLibrary, OpenFlags};
use std::path::Path;

/// The flags every peer loads with.
pub fn flags() -> OpenFlags {
    OpenFlags::RTLD_NOW | OpenFlags::RTLD_LOCAL
}

/// Open, or the error as text.
pub fn try_open(path: &Path) -> Result<ElfLibrary, String> {
    ElfLibrary::dlopen(path.to_str().expect("UTF-8 path"), flags()).map_err(|e| e.to_string())
}

/// Open or panic.
pub fn open(path: &Path) -> ElfLibrary {
    try_open(path).unwrap_or_else(|e| panic!("dlopen-rs: {}: {e}", path.display()))
}

/// Open, look up `name`, close.
pub fn open_lookup_close(path: &Path, name: &str) -> usize {
    let lib = open(path);
    // SAFETY: the symbol is only turned into an address.
    let a = unsafe { lib.get::<*mut std::ffi::c_void>(name) }
        .map(|s| *s as usize)
        .unwrap_or(0);
    drop(lib);
    a
}
