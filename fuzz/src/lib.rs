//! What the fuzz targets share: putting an input where the loader can open it,
//! the options for untrusted input, and the checks every run ends with.
//!
//! The loader opens objects by path, so each input is written to one scratch file
//! per process (in `/dev/shm` when it exists, to keep the file system out of the
//! loop) and loaded from there. After the load and its handle are gone, no
//! mapping of the scratch file may remain: a leaked mapping is reported as a
//! crash, like a panic or a fault.
//!
//! It does not mutate anything; libFuzzer does, starting from the corpus that
//! `seed.sh` fills with real objects.

use std::ffi::{c_int, c_void, CStr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use staticdl_loader::runtime::{iterate_loaded_phdrs, DlPhdrInfo};
use staticdl_loader::{Error, Library, LibraryProvider, Limits, LoadOptions, SymbolSource};

/// The scratch file of this process.
pub fn scratch() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("staticdl-fuzz-{}.so", std::process::id()))
    })
}

/// Write `data` to the scratch file and return its path.
pub fn write_input(data: &[u8]) -> &'static Path {
    let p = scratch();
    std::fs::write(p, data).expect("writing the scratch file");
    p
}

/// Panic if any mapping of `path` is left in this process, or any object in the
/// process-wide object list (the targets load nothing else).
pub fn assert_unmapped(path: &Path) {
    assert_no_mapping(|line| line.ends_with(&*path.to_string_lossy()));
}

/// As [`assert_unmapped`], for an input loaded from memory as `name`: the kernel
/// lists its anonymous file as `/memfd:NAME (deleted)`.
pub fn assert_unmapped_name(name: &str) {
    let memfd = format!("/memfd:{name}");
    assert_no_mapping(|line| line.contains(&memfd));
}

fn assert_no_mapping(matches: impl Fn(&str) -> bool) {
    let (adds, subs) = staticdl_loader::runtime::phdr_counts();
    assert_eq!(adds, subs, "objects left in the object list");
    let maps = std::fs::read_to_string("/proc/self/maps").expect("reading /proc/self/maps");
    if let Some(line) = maps.lines().find(|l| matches(l)) {
        panic!("mapping of the input left after unload: {line}");
    }
}

/// Panic unless `e` names the input (or, for a missing dependency, the object
/// that needs it).
pub fn assert_names(e: &Error, path: &Path) {
    // For a missing dependency, the error's path is the object that needs it.
    let named = e.path() == path;
    assert!(named, "error does not name the input: {e}");
    let _ = e.to_string();
}

/// Limits for fuzzing: the defaults, except a smaller image size, so that a
/// thread-local block (up to that size, allocated on a TLS symbol lookup) stays
/// under libFuzzer's memory limit.
pub fn limits() -> Limits {
    Limits {
        max_image_size: 256 << 20,
        ..Limits::default()
    }
}

/// The options of the `parse` target: nothing runs, nothing is searched, no
/// imports are answered.
pub fn bare_options() -> LoadOptions {
    LoadOptions::new()
        .run_code(false)
        .system_dirs(false)
        .limits(limits())
}

extern "C" fn placeholder() {}

fn plausible(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(u8::is_ascii_graphic)
}

/// Answers every plausible `DT_NEEDED` name with a library that defines every
/// plausible symbol, so relocation runs to the end.
struct Everything;

impl LibraryProvider for Everything {
    fn provide(&self, name: &str) -> Option<Arc<dyn SymbolSource>> {
        plausible(name.as_bytes()).then(|| {
            Arc::new(|n: &[u8], _: Option<&[u8]>| {
                plausible(n).then_some(placeholder as extern "C" fn() as usize)
            }) as Arc<dyn SymbolSource>
        })
    }
}

/// The options of the `load` target: nothing of the object runs, but every
/// import resolves (to a function that is never called).
pub fn resolving_options() -> LoadOptions {
    bare_options()
        .provider(Everything)
        .host_symbols(|n: &[u8], _: Option<&[u8]>| {
            plausible(n).then_some(placeholder as extern "C" fn() as usize)
        })
}

/// What a host does with a loaded object short of running it: list and look up
/// its symbols, with and without versions, and ask about addresses.
pub fn exercise(lib: &Library) {
    let _ = lib.soname();
    let _ = lib.needed();
    let (start, len) = lib.address_range();
    assert!(lib.contains(start) && (len == 0 || !lib.contains(start + len)));
    let exports = lib.exports();
    for name in exports.iter().take(32) {
        if let Some(p) = lib.symbol(name) {
            let _ = lib.is_readable(p.as_ptr() as usize, 8);
        }
        let _ = lib.symbol(&format!("{name}@VER_1"));
    }
    for name in ["", "main", "no_such_symbol", "x@", "x@@V", "@"] {
        let _ = lib.symbol(name).map(|p| p.as_ptr() as *const c_void);
    }
    assert!(
        walk_object_list() > 0,
        "a loaded object is missing from the list"
    );
}

/// What an unwinder does with the process-wide object list: read every program
/// header published for every object, as `Elf64_Phdr` records. Returns how many
/// objects are listed.
pub fn walk_object_list() -> usize {
    unsafe extern "C" fn visit(info: *mut DlPhdrInfo, _: usize, data: *mut c_void) -> c_int {
        // SAFETY: the loader passes a valid entry; `data` is the counter below.
        unsafe {
            let info = &*info;
            let _ = CStr::from_ptr(info.dlpi_name);
            for i in 0..usize::from(info.dlpi_phnum) {
                let ph = (info.dlpi_phdr as *const [u64; 7]).add(i);
                let _ = std::ptr::read_volatile(ph);
            }
            *(data as *mut usize) += 1;
        }
        0
    }
    let mut n = 0usize;
    // SAFETY: `visit` matches the callback type and neither loads nor unloads.
    unsafe { iterate_loaded_phdrs(visit, &mut n as *mut usize as *mut c_void) };
    n
}
