//! Closed objects' reservations kept for the next load of the same file
//! (`LoadOptions::reuse_mappings`, off by default): a reused mapping must be
//! indistinguishable from a fresh one (data back to the file's values, zero data
//! zero, the file's current bytes, constructors run again), and what is kept must
//! be bounded and let go when asked, when the file is replaced, or at once when
//! reuse is off. Each test loads its own copy of the fixture, one test at a time
//! (the kept set is process-wide; this file is its own test process).

mod common;

use std::ffi::{c_char, CStr};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use staticdl_loader::{release_closed_mappings, Library, LoadOptions, Namespace, KEPT_CLOSED};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    let g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    release_closed_mappings();
    g
}

/// A private copy of the fixture, named after the test.
fn copy(name: &str) -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_TARGET_TMPDIR"), "/reuse"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("lib{name}.so"));
    let tmp = dir.join(format!(".lib{name}.so.tmp"));
    std::fs::copy(common::fixture("reuse"), &tmp).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    path
}

/// Lines of /proc/self/maps naming `path` (as the kernel shows it: a replaced
/// or deleted file gets " (deleted)" appended).
fn maps_lines(path: &Path, deleted: bool) -> usize {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let p = path.to_string_lossy();
    let want = if deleted {
        format!("{p} (deleted)")
    } else {
        p.to_string()
    };
    maps.lines().filter(|l| l.ends_with(&want)).count()
}

fn opts() -> LoadOptions {
    LoadOptions::new().system_dirs(false).reuse_mappings(true)
}

/// # Safety
/// `T` must be the type of symbol `name`'s address.
unsafe fn sym<T: Copy>(lib: &Library, name: &str) -> T {
    let p = lib
        .symbol(name)
        .unwrap_or_else(|| panic!("{name} not found"))
        .as_ptr();
    assert_eq!(std::mem::size_of::<T>(), std::mem::size_of::<usize>());
    // SAFETY: the caller names the right type; sizes match.
    unsafe { std::mem::transmute_copy(&p) }
}

/// The fixture's state: (reuse_data, reuse_bss, sum of reuse_big, reuse_inits).
fn state(lib: &Library) -> (i32, i32, i32, i32) {
    // SAFETY: the fixture's types (int globals, int (void) functions).
    unsafe {
        let data: *const i32 = sym(lib, "reuse_data");
        let bss: *const i32 = sym(lib, "reuse_bss");
        let inits: *const i32 = sym(lib, "reuse_inits");
        let big: extern "C" fn() -> i32 = sym(lib, "reuse_big_sum");
        (*data, *bss, big(), *inits)
    }
}

fn bump(lib: &Library) -> i32 {
    // SAFETY: reuse_ptr is an `int (*)(void)` in data, set by a relocation.
    unsafe {
        let ptr: *const extern "C" fn() -> i32 = sym(lib, "reuse_ptr");
        (*ptr)()
    }
}

fn message(lib: &Library) -> String {
    // SAFETY: reuse_message returns a pointer to the NUL-terminated reuse_text.
    unsafe {
        let f: extern "C" fn() -> *const c_char = sym(lib, "reuse_message");
        CStr::from_ptr(f()).to_string_lossy().into_owned()
    }
}

#[test]
fn a_reused_mapping_starts_as_a_fresh_one() {
    let _g = serial();
    let path = copy("fresh");
    let ns = Namespace::new();
    let lib = ns.load(&path, &opts()).unwrap();
    // The values the source gives them.
    assert_eq!(state(&lib), (1234, 0, 0, 1));
    for _ in 0..3 {
        bump(&lib);
    }
    assert_eq!(state(&lib), (1237, 3, 6, 1));
    let first = lib.symbol("reuse_bump").unwrap().as_ptr() as usize;
    drop(lib);
    assert!(
        maps_lines(&path, false) > 0,
        "the closed object's reservation is kept"
    );

    let lib = ns.load(&path, &opts()).unwrap();
    let again = lib.symbol("reuse_bump").unwrap().as_ptr() as usize;
    assert_eq!(again, first, "the kept reservation was taken");
    // Data from the file, zero data zero, the constructor ran once more (in
    // this load's memory), relocated pointers work.
    assert_eq!(state(&lib), (1234, 0, 0, 1));
    assert_eq!(bump(&lib), 1235);
    assert_eq!(state(&lib), (1235, 1, 2, 1));
    drop(lib);
    assert_eq!(release_closed_mappings(), 1);
    assert_eq!(maps_lines(&path, false), 0);
}

#[test]
fn a_file_changed_in_place_is_read_as_a_fresh_load_reads_it() {
    use std::os::unix::fs::FileExt;
    let _g = serial();
    let path = copy("inplace");
    let ns = Namespace::new();
    let lib = ns.load(&path, &opts()).unwrap();
    assert_eq!(message(&lib), "original text of the reuse fixture");
    drop(lib);
    // Same file (same inode), same layout, other bytes in .rodata.
    let bytes = std::fs::read(&path).unwrap();
    let at = bytes
        .windows(8)
        .position(|w| w == b"original")
        .expect("the text is in the file");
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.write_all_at(b"modified", at as u64).unwrap();
    drop(file);
    let lib = ns.load(&path, &opts()).unwrap();
    assert_eq!(message(&lib), "modified text of the reuse fixture");
    drop(lib);
    release_closed_mappings();
}

#[test]
fn by_default_closing_unmaps_at_once() {
    let _g = serial();
    let path = copy("noreuse");
    let ns = Namespace::new();
    let lib = ns
        .load(&path, &LoadOptions::new().system_dirs(false))
        .unwrap();
    assert!(maps_lines(&path, false) > 0);
    bump(&lib);
    drop(lib);
    assert_eq!(maps_lines(&path, false), 0);
    assert_eq!(release_closed_mappings(), 0);
}

#[test]
fn a_replaced_file_lets_the_old_one_go_when_its_path_is_loaded() {
    let _g = serial();
    let path = copy("replaced");
    let ns = Namespace::new();
    let lib = ns.load(&path, &opts()).unwrap();
    drop(lib);
    // A new version renamed over the path, as a deploy does: the kept mapping
    // still holds the old file.
    let path2 = copy("replaced");
    assert_eq!(path, path2);
    assert!(maps_lines(&path, true) > 0, "the old file is held");
    let lib = ns.load(&path, &opts()).unwrap();
    assert_eq!(maps_lines(&path, true), 0, "the old file was let go");
    assert_eq!(state(&lib), (1234, 0, 0, 1));
    drop(lib);
    assert_eq!(release_closed_mappings(), 1);
}

#[test]
fn failed_and_dry_loads_are_never_kept() {
    let _g = serial();
    let path = copy("dry");
    let ns = Namespace::new();
    let lib = ns.load(&path, &opts().run_code(false)).unwrap();
    drop(lib);
    assert_eq!(maps_lines(&path, false), 0, "a dry run is unmapped");
    // `undefined` imports a function nothing provides: the load fails.
    let undefined = common::fixture("undefined");
    assert!(ns.load(&undefined, &opts()).is_err());
    assert_eq!(
        maps_lines(&undefined, false),
        0,
        "a failed load is unmapped"
    );
    assert_eq!(release_closed_mappings(), 0);
}

#[test]
fn at_most_kept_closed_files_are_kept_the_newest_ones() {
    let _g = serial();
    let n = KEPT_CLOSED + 2;
    let paths: Vec<PathBuf> = (0..n).map(|i| copy(&format!("bound{i}"))).collect();
    let ns = Namespace::new();
    for p in &paths {
        drop(ns.load(p, &opts()).unwrap());
    }
    let kept: Vec<bool> = paths.iter().map(|p| maps_lines(p, false) > 0).collect();
    let expected: Vec<bool> = (0..n).map(|i| i >= n - KEPT_CLOSED).collect();
    assert_eq!(kept, expected);
    assert_eq!(release_closed_mappings(), KEPT_CLOSED);
    assert!(paths.iter().all(|p| maps_lines(p, false) == 0));
}
