//! The loader against real objects: the fixtures compiled by gcc and rustc during
//! the test build, loaded into this (dynamic, glibc) test process. The same life
//! cycle inside a static musl executable is in `tests/static_host.rs`.

mod common;

use std::ffi::{c_char, CStr};
use std::sync::{Mutex, MutexGuard};

use staticdl_loader::{ErrorKind, Library, LoadOptions, Namespace, SymbolName};

/// What the fixtures' `host_record` imports wrote, in order.
static RECORDS: Mutex<Vec<i32>> = Mutex::new(Vec::new());
/// Tests that read `RECORDS` run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

extern "C" fn host_record(v: i32) {
    RECORDS.lock().unwrap().push(v);
}

extern "C" fn host_add(a: i32, b: i32) -> i32 {
    a + b
}

fn serial() -> MutexGuard<'static, ()> {
    let g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    RECORDS.lock().unwrap().clear();
    g
}

fn take_records() -> Vec<i32> {
    std::mem::take(&mut *RECORDS.lock().unwrap())
}

/// The host's exports, as a plugin host would offer them.
fn opts() -> LoadOptions {
    LoadOptions::new()
        .system_dirs(false)
        .host_symbols(|name: &[u8], _: Option<&[u8]>| match name {
            b"host_record" => Some(host_record as extern "C" fn(i32) as usize),
            b"host_add" => Some(host_add as extern "C" fn(i32, i32) -> i32 as usize),
            _ => None,
        })
}

/// # Safety
/// `T` must be the function pointer type of symbol `name`.
unsafe fn func<T: Copy>(lib: &Library, name: &str) -> T {
    let p = lib
        .symbol(name)
        .unwrap_or_else(|| panic!("{name} not found"));
    assert_eq!(std::mem::size_of::<T>(), std::mem::size_of::<usize>());
    // SAFETY: the caller names the right type; sizes match.
    unsafe { std::mem::transmute_copy(&p.as_ptr()) }
}

fn maps_mentioning(path: &std::path::Path) -> usize {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let p = path.to_string_lossy();
    maps.lines().filter(|l| l.ends_with(&*p)).count()
}

#[test]
fn basic_full_life_cycle() {
    let _g = serial();
    let path = common::fixture("basic");
    let ns = Namespace::new();
    let lib = ns.load(&path, &opts()).unwrap();
    assert!(maps_mentioning(&path) > 0);
    unsafe {
        // Exported function, called through its address.
        let add: extern "C" fn(i32, i32) -> i32 = func(&lib, "basic_add");
        assert_eq!(add(2, 3), 5);
        // Constructor ran: it set basic_counter to 42.
        let counter = lib.symbol("basic_counter").unwrap().as_ptr() as *const i32;
        assert_eq!(*counter, 42);
        // Function pointers in data: R_X86_64_64 and R_X86_64_RELATIVE.
        let ops =
            lib.symbol("basic_ops").unwrap().as_ptr() as *const extern "C" fn(i32, i32) -> i32;
        assert_eq!((*ops)(6, 7), 13);
        assert_eq!((*ops.add(1))(6, 7), 42);
        assert_eq!(
            *ops as usize, add as usize,
            "R_X86_64_64 must bind to the same basic_add"
        );
        // A string pointer in data (R_X86_64_RELATIVE).
        let greeting = lib.symbol("basic_greeting").unwrap().as_ptr() as *const *const c_char;
        assert_eq!(
            CStr::from_ptr(*greeting).to_str().unwrap(),
            "hello from basic"
        );
        // IFUNC: exported, through the PLT internally, and a local one via IRELATIVE.
        let ifunc: extern "C" fn(i32) -> i32 = func(&lib, "basic_ifunc");
        assert_eq!(ifunc(7), 21);
        let via_plt: extern "C" fn(i32) -> i32 = func(&lib, "basic_call_ifunc");
        assert_eq!(via_plt(5), 15);
        let local: extern "C" fn(i32) -> i32 = func(&lib, "basic_call_local_ifunc");
        assert_eq!(local(5), 25);
        // The weak undefined import resolved to 0.
        let has_weak: extern "C" fn() -> i32 = func(&lib, "basic_has_weak");
        assert_eq!(has_weak(), 0);
    }
    assert!(
        lib.symbol("basic_times3").is_none(),
        "static functions are not exported"
    );
    assert!(lib.symbol("no_such_symbol").is_none());
    let exports = lib.exports();
    for e in ["basic_add", "basic_counter", "basic_ops", "basic_ifunc"] {
        assert!(
            exports.iter().any(|x| x == e),
            "{e} missing from {exports:?}"
        );
    }
    assert_eq!(lib.soname(), Some("libbasic.so"));
    assert!(lib.contains(lib.symbol("basic_add").unwrap().as_ptr() as usize));
    assert!(
        take_records().is_empty(),
        "no destructor may run before unload"
    );
    drop(lib);
    assert_eq!(take_records(), vec![99], "destructor runs at unload");
    assert_eq!(maps_mentioning(&path), 0, "unload unmaps everything");
}

#[test]
fn protections_are_w_xor_x_and_relro_is_read_only() {
    // basic's destructor records at unload: keep out of the recording tests' way.
    let _g = serial();
    let path = common::fixture("basic");
    let lib = Namespace::new().load(&path, &opts()).unwrap();
    let (start, len) = lib.address_range();
    let mut saw_exec = false;
    let mut saw_write = false;
    for r in region::query_range(start as *const u8, len).unwrap() {
        let r = r.unwrap();
        let p = r.protection();
        assert!(
            !(p.contains(region::Protection::WRITE) && p.contains(region::Protection::EXECUTE)),
            "W+X page at {:?}",
            r.as_ptr::<u8>()
        );
        saw_exec |= p.contains(region::Protection::EXECUTE);
        saw_write |= p.contains(region::Protection::WRITE);
    }
    assert!(saw_exec && saw_write);
    // The whole pages of PT_GNU_RELRO are read-only after relocation.
    let (relro_start, relro_end) = relro_pages(&path);
    assert!(relro_end > relro_start, "fixture has a RELRO page");
    let mut at = relro_start;
    while at < relro_end {
        let r = region::query((start + at as usize) as *const u8).unwrap();
        assert!(
            !r.protection().contains(region::Protection::WRITE),
            "RELRO still writable: {r:?}"
        );
        at += 4096;
    }
}

/// Page-rounded `PT_GNU_RELRO` range of a file (as glibc rounds it), from readelf.
fn relro_pages(path: &std::path::Path) -> (u64, u64) {
    let out = std::process::Command::new("readelf")
        .arg("-lW")
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("GNU_RELRO"))
        .unwrap();
    let f: Vec<&str> = line.split_whitespace().collect();
    let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
    let (vaddr, memsz) = (hex(f[2]), hex(f[5]));
    (vaddr & !4095, (vaddr + memsz) & !4095)
}

#[test]
fn init_and_fini_follow_glibc_order() {
    let _g = serial();
    let lib = Namespace::new()
        .load(common::fixture("order"), &opts())
        .unwrap();
    assert_eq!(
        take_records(),
        vec![1, 2, 3],
        "DT_INIT, then DT_INIT_ARRAY in order"
    );
    drop(lib);
    assert_eq!(
        take_records(),
        vec![10, 11, 12],
        "DT_FINI_ARRAY backwards, then DT_FINI"
    );
}

#[test]
fn dependency_chain_loads_breadth_first_and_inits_dependencies_first() {
    let _g = serial();
    let a_path = common::fixture("chain_a");
    let ns = Namespace::new();
    let a = ns.load(&a_path, &opts()).unwrap();
    // DT_RUNPATH $ORIGIN found b and c (no search paths were given).
    assert_eq!(a.needed(), vec!["libchain_b.so".to_string()]);
    assert_eq!(take_records(), vec!['c' as i32, 'b' as i32, 'a' as i32]);
    unsafe {
        let total: extern "C" fn() -> i32 = func(&a, "chain_a_total");
        assert_eq!(total(), 111);
        // Symbols of dependencies are reachable through the handle, like dlsym.
        let b_versioned: extern "C" fn() -> i32 = func(&a, "chain_b_versioned");
        assert_eq!(
            b_versioned(),
            2,
            "b linked against the default chain_versioned@@VER_2"
        );
        let b_old: extern "C" fn() -> i32 = func(&a, "chain_b_versioned_old");
        assert_eq!(
            b_old(),
            1,
            "a VER_1 import binds to the hidden chain_versioned@VER_1"
        );
        let v1: extern "C" fn() -> i32 = func(&a, "chain_versioned@VER_1");
        let v2: extern "C" fn() -> i32 = func(&a, "chain_versioned@VER_2");
        let default: extern "C" fn() -> i32 = func(&a, "chain_versioned");
        assert_eq!((v1(), v2(), default()), (1, 2, 2));
    }
    assert!(a.symbol("chain_versioned@VER_9").is_none());
    // Loading b directly now returns the object already loaded as a's dependency.
    let b = ns
        .load(a_path.with_file_name("libchain_b.so"), &opts())
        .unwrap();
    assert_eq!(b.soname(), Some("libchain_b.so"));
    assert!(take_records().is_empty(), "no init runs twice");
    drop(a);
    assert!(
        take_records().is_empty(),
        "b is still held, so its group stays"
    );
    drop(b);
    assert_eq!(take_records(), vec!['A' as i32, 'B' as i32, 'C' as i32]);
}

#[test]
fn later_load_shares_an_earlier_dependency() {
    let _g = serial();
    let dir = common::fixture("chain_a").parent().unwrap().to_path_buf();
    let ns = Namespace::new();
    let c = ns.load(dir.join("libchain_c.so"), &opts()).unwrap();
    assert_eq!(take_records(), vec!['c' as i32]);
    let a = ns.load(dir.join("libchain_a.so"), &opts()).unwrap();
    assert_eq!(
        take_records(),
        vec!['b' as i32, 'a' as i32],
        "c is shared, not loaded again"
    );
    drop(c);
    assert!(take_records().is_empty(), "a still needs c");
    drop(a);
    assert_eq!(take_records(), vec!['A' as i32, 'B' as i32, 'C' as i32]);
}

#[test]
fn host_resolver_supplies_imports() {
    let lib = Namespace::new()
        .load(common::fixture("hostimport"), &opts())
        .unwrap();
    let f: extern "C" fn(i32, i32) -> i32 = unsafe { func(&lib, "hostimport_call") };
    assert_eq!(f(20, 1), 42);
    // Without the host symbol, the load fails and names the import.
    let e = Namespace::new()
        .load(
            common::fixture("hostimport"),
            &LoadOptions::new().system_dirs(false),
        )
        .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::UnresolvedSymbols { symbols, .. } if symbols[0].name == "host_add"),
        "{e}"
    );
}

#[test]
fn first_resolvers_interpose_and_last_ones_fill_in() {
    extern "C" fn other_add(a: i32, b: i32) -> i32 {
        a * b
    }
    let opts = opts().host_symbols_first(|name: &[u8], _: Option<&[u8]>| {
        (name == b"host_add").then_some(other_add as extern "C" fn(i32, i32) -> i32 as usize)
    });
    let lib = Namespace::new()
        .load(common::fixture("hostimport"), &opts)
        .unwrap();
    let f: extern "C" fn(i32, i32) -> i32 = unsafe { func(&lib, "hostimport_call") };
    assert_eq!(f(3, 4), 24);
}

#[test]
fn relr_packed_relocations() {
    let lib = Namespace::new()
        .load(common::fixture("relr"), &opts())
        .unwrap();
    unsafe {
        let count: extern "C" fn() -> i32 = func(&lib, "relr_count");
        let get: extern "C" fn(i32) -> *const c_char = func(&lib, "relr_get");
        let n = count();
        assert!(n >= 64);
        for i in 0..n {
            let s = CStr::from_ptr(get(i)).to_str().unwrap();
            assert!(!s.is_empty(), "entry {i}");
            assert!(
                lib.contains(get(i) as usize),
                "entry {i} points outside the object"
            );
        }
    }
}

#[test]
fn many_symbols_gnu_and_sysv_hash() {
    for name in ["manysyms", "manysyms_sysv"] {
        let lib = Namespace::new()
            .load(common::fixture(name), &opts())
            .unwrap();
        for i in [0, 1, 17, 2500, 4999] {
            let f: extern "C" fn() -> i32 = unsafe { func(&lib, &format!("manysyms_f{i}")) };
            assert_eq!(f(), i, "{name}");
        }
        assert!(lib.symbol("manysyms_f5000").is_none());
        assert!(lib.symbol("manysyms_").is_none());
        const F42: SymbolName = SymbolName::new("manysyms_f42");
        assert!(lib.lookup_here(&F42).is_some());
        assert_eq!(lib.exports().len(), 5000, "{name}");
    }
}

#[test]
fn nostd_rust_cdylib() {
    let lib = Namespace::new()
        .load(common::fixture("nostd"), &opts())
        .unwrap();
    unsafe {
        let fib: extern "C" fn(u32) -> u64 = func(&lib, "nostd_fib");
        assert_eq!(fib(50), 12_586_269_025);
        let host: extern "C" fn(i32) -> i32 = func(&lib, "nostd_uses_host");
        assert_eq!(host(41), 42);
        // Pointers in data (R_X86_64_RELATIVE) read through the relocated table.
        let len: extern "C" fn(usize) -> usize = func(&lib, "nostd_table_len");
        let first: extern "C" fn(usize) -> u8 = func(&lib, "nostd_table_first_byte");
        let table = lib.symbol("NOSTD_TABLE").unwrap().as_ptr() as *const &str;
        for i in 0..3 {
            let s = *table.add(i);
            assert_eq!(len(i), s.len());
            assert_eq!(first(i), s.as_bytes()[0]);
            assert!(lib.contains(s.as_ptr() as usize));
        }
        assert_eq!(len(3), 0);
    }
}

#[test]
fn unresolved_imports_are_all_listed() {
    let path = common::fixture("undefined");
    let e = Namespace::new().load(&path, &opts()).unwrap_err();
    let ErrorKind::UnresolvedSymbols { symbols } = e.kind() else {
        panic!("{e}")
    };
    let names: Vec<_> = symbols.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["no_such_symbol_anywhere", "another_missing_symbol"]);
    assert_eq!(e.path(), path);
    assert!(
        e.to_string()
            .contains("undefined symbols no_such_symbol_anywhere"),
        "{e}"
    );
    assert_eq!(maps_mentioning(&path), 0, "failed load left a mapping");
}

#[test]
fn tls_general_dynamic_gives_each_thread_its_own_copy() {
    let path = common::fixture("tls");
    let tls_get_addr = staticdl_loader::runtime::tls_get_addr_address();
    let opts = opts().host_symbols(move |name: &[u8], _: Option<&[u8]>| {
        (name == b"__tls_get_addr").then_some(tls_get_addr)
    });
    let lib = Namespace::new().load(&path, &opts).unwrap();
    let get: extern "C" fn() -> i32 = unsafe { func(&lib, "tls_get") };
    let set: extern "C" fn(i32) = unsafe { func(&lib, "tls_set") };
    let zero: extern "C" fn() -> i32 = unsafe { func(&lib, "tls_zero_get") };
    assert_eq!((get(), zero()), (7, 0), "initialised from the PT_TLS image");
    set(100);
    assert_eq!(get(), 100);
    let handles: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                let first = get();
                set(i);
                std::thread::yield_now();
                (first, get(), zero())
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(
            h.join().unwrap(),
            (7, i as i32, 0),
            "thread {i} sees its own copy"
        );
    }
    assert_eq!(get(), 100, "other threads did not touch this thread's copy");
    // dlsym of a TLS symbol gives the calling thread's instance.
    let p = lib.symbol("tls_var").unwrap().as_ptr() as *const i32;
    assert_eq!(unsafe { *p }, 100);
    drop(lib);
    // Reloading starts from the image again: the old blocks were freed.
    let lib = Namespace::new().load(&path, &opts).unwrap();
    let get: extern "C" fn() -> i32 = unsafe { func(&lib, "tls_get") };
    assert_eq!(get(), 7);
}

#[test]
fn executable_stack_needs_consent() {
    let path = common::fixture("execstack");
    let e = Namespace::new().load(&path, &opts()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::ExecutableStack), "{e}");
    assert_eq!(maps_mentioning(&path), 0);
    let lib = Namespace::new()
        .load(&path, &opts().allow_exec_stack(true))
        .unwrap();
    let f: extern "C" fn() -> i32 = unsafe { func(&lib, "execstack_answer") };
    assert_eq!(f(), 42);
}

#[test]
fn same_file_by_two_paths_is_one_object() {
    let _g = serial();
    let path = common::fixture("order");
    let dir = path.parent().unwrap();
    let link = dir.join("order-symlink-test.so");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&path, &link).unwrap();
    let ns = Namespace::new();
    let a = ns.load(&path, &opts()).unwrap();
    let b = ns.load(&link, &opts()).unwrap();
    assert!(a.same_object(&b));
    assert_eq!(take_records(), vec![1, 2, 3], "init ran once");
    drop((a, b));
    assert_eq!(take_records(), vec![10, 11, 12]);
    std::fs::remove_file(&link).unwrap();
}

#[test]
fn global_scope_serves_later_loads() {
    let ns = Namespace::new();
    let bare = LoadOptions::new().system_dirs(false);
    // Loaded locally, globaldef's host_add is invisible to later loads.
    let local = ns.load(common::fixture("globaldef"), &bare).unwrap();
    let e = ns.load(common::fixture("hostimport"), &bare).unwrap_err();
    assert!(e.to_string().contains("host_add"), "{e}");
    drop(local);
    // Loaded globally, it satisfies hostimport's import.
    let global = ns
        .load(common::fixture("globaldef"), &bare.clone().global(true))
        .unwrap();
    let lib = ns.load(common::fixture("hostimport"), &bare).unwrap();
    let f: extern "C" fn(i32, i32) -> i32 = unsafe { func(&lib, "hostimport_call") };
    assert_eq!(f(1, 2), 2006);
    // hostimport keeps globaldef alive: its code is still callable after the
    // global handle is dropped.
    drop(global);
    assert_eq!(f(1, 2), 2006);
}

/// TLS descriptors work; an initial-exec object with an initialised image cannot
/// be put in place in a glibc host that already runs threads (as this test
/// harness does), and is refused with a clear error (`tests/tls.rs` loads it in
/// a static musl host, where every thread can be reached).
#[test]
fn tls_descriptors_work_and_initial_exec_is_refused() {
    let tls_get_addr = staticdl_loader::runtime::tls_get_addr_address();
    let opts = opts().host_symbols(move |name: &[u8], _: Option<&[u8]>| {
        (name == b"__tls_get_addr").then_some(tls_get_addr)
    });
    let lib = Namespace::new()
        .load(common::fixture("tlsdesc"), &opts)
        .unwrap();
    let get: extern "C" fn() -> i32 = unsafe { func(&lib, "tls_get") };
    let set: extern "C" fn(i32) = unsafe { func(&lib, "tls_set") };
    assert_eq!(get(), 7);
    set(5);
    let other = std::thread::spawn(move || {
        set(9);
        get()
    })
    .join()
    .unwrap();
    assert_eq!((get(), other), (5, 9));
    let e = Namespace::new()
        .load(common::fixture("tls_ie"), &opts)
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::TlsUnsupported { .. }), "{e}");
    assert!(e.to_string().contains("initial-exec"), "{e}");
}

/// The entry points' fast path (a thread's block found without the runtime's
/// lock) follows loads and unloads: blocks of two modules at once, in threads
/// made before and after, and a module loaded again after its unload (its id
/// used again) starts from its image, in every thread, not from the last
/// values.
#[test]
fn tls_blocks_follow_loads_and_unloads() {
    let tls_get_addr = staticdl_loader::runtime::tls_get_addr_address();
    let opts = opts().host_symbols(move |name: &[u8], _: Option<&[u8]>| {
        (name == b"__tls_get_addr").then_some(tls_get_addr)
    });
    let ns = Namespace::new();
    type Get = extern "C" fn() -> i32;
    type Set = extern "C" fn(i32);
    let load = |fixture: &str| {
        let lib = ns.load(common::fixture(fixture), &opts).unwrap();
        let get: Get = unsafe { func(&lib, "tls_get") };
        let set: Set = unsafe { func(&lib, "tls_set") };
        (lib, get, set)
    };
    let (gd, gd_get, gd_set) = load("tls");
    let (desc, desc_get, desc_set) = load("tlsdesc");
    // Module 1 is the executable's block (glibc's numbering, which
    // `dl_iterate_phdr` callers pass back to `__tls_get_addr`).
    unsafe extern "C" fn modids(
        info: *mut staticdl_loader::runtime::DlPhdrInfo,
        _: usize,
        data: *mut std::ffi::c_void,
    ) -> std::ffi::c_int {
        // SAFETY: the loader passes a valid record; `data` is the Vec below.
        unsafe { (*(data as *mut Vec<usize>)).push((*info).dlpi_tls_modid) };
        0
    }
    let mut ids: Vec<usize> = Vec::new();
    // SAFETY: the callback only reads the record.
    unsafe {
        staticdl_loader::runtime::iterate_loaded_phdrs(
            modids,
            &mut ids as *mut Vec<usize> as *mut _,
        )
    };
    assert!(ids.iter().filter(|&&id| id != 0).count() >= 2, "{ids:?}");
    assert!(
        ids.iter().all(|&id| id != 1),
        "a plugin got the executable's module id: {ids:?}"
    );
    let before = std::thread::spawn(move || {
        let first = (gd_get(), desc_get());
        gd_set(11);
        desc_set(12);
        (first, gd_get(), desc_get())
    });
    gd_set(1);
    desc_set(2);
    assert_eq!(before.join().unwrap(), ((7, 7), 11, 12));
    assert_eq!((gd_get(), desc_get()), (1, 2));
    // Unloaded and loaded again: fresh blocks everywhere.
    drop(desc);
    let (desc, desc_get, _) = load("tlsdesc");
    assert_eq!((gd_get(), desc_get()), (1, 7));
    let after = std::thread::spawn(move || (gd_get(), desc_get()))
        .join()
        .unwrap();
    assert_eq!(after, (7, 7));
    drop((gd, desc));
}

#[test]
fn missing_dependency_names_what_was_searched() {
    let dir = tempdir();
    // Copy chain_a alone: its RUNPATH ($ORIGIN) no longer finds libchain_b.so.
    let lonely = dir.join("libchain_a.so");
    std::fs::copy(common::fixture("chain_a"), &lonely).unwrap();
    let e = Namespace::new().load(&lonely, &opts()).unwrap_err();
    let ErrorKind::LibraryNotFound { name, searched, .. } = e.kind() else {
        panic!("{e}")
    };
    assert_eq!(name, "libchain_b.so");
    assert_eq!(searched, &vec![dir.join("libchain_b.so")]);
    // A caller search path fixes it.
    let opts = opts().search_path(common::fixture_dir());
    let lib = Namespace::new().load(&lonely, &opts).unwrap();
    let f: extern "C" fn() -> i32 = unsafe { func(&lib, "chain_a_total") };
    assert_eq!(f(), 111);
    drop(lib);
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "loader-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn run_code_false_maps_and_relocates_without_running_anything() {
    let _g = serial();
    let lib = Namespace::new()
        .load(common::fixture("order"), &opts().run_code(false))
        .unwrap();
    assert!(lib.symbol("order_value").is_some() || !lib.exports().is_empty());
    drop(lib);
    assert!(take_records().is_empty(), "neither init nor fini may run");
}

#[test]
fn reopening_by_the_same_absolute_path_does_not_touch_the_disk() {
    let dir = tempdir();
    let path = dir.join("libhostimport.so");
    std::fs::copy(common::fixture("hostimport"), &path).unwrap();
    let ns = Namespace::new();
    let a = ns.load(&path, &opts()).unwrap();
    // With the file gone, only a match on the loaded name can succeed.
    std::fs::remove_file(&path).unwrap();
    let b = ns.load(&path, &opts()).unwrap();
    assert!(a.same_object(&b));
    drop((a, b));
    // Once unloaded, the name means the disk again.
    let e = ns.load(&path, &opts()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Io(_)), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Under `trap_unresolved`, function imports nothing defines are bound to traps:
/// the object loads, and calling one reports the object and the function on
/// standard error and aborts (checked in a child process). A data import that
/// nothing defines still fails the load.
#[test]
fn trapped_unresolved_functions_report_and_abort_when_called() {
    let trap = opts().trap_unresolved(true);
    // A copy of its own: other tests check that failed loads of the fixture leave
    // nothing mapped.
    if let Some(path) = std::env::var_os("STATICDL_TRAP_CHILD") {
        let lib = Namespace::new().load(path, &trap).unwrap();
        // SAFETY: `int undefined_call(void)`.
        let f: extern "C" fn() -> i32 = unsafe { func(&lib, "undefined_call") };
        f();
        unreachable!("the trap returned");
    }
    let dir = tempdir();
    let path = dir.join("libundefined-trapped.so");
    std::fs::copy(common::fixture("undefined"), &path).unwrap();
    assert!(
        Namespace::new().load(&path, &opts()).is_err(),
        "strict by default"
    );
    let lib = Namespace::new()
        .load(&path, &trap)
        .expect("loads with traps");
    drop(lib);
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "trapped_unresolved_functions_report_and_abort_when_called",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("STATICDL_TRAP_CHILD", &path)
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(6), "SIGABRT: {:?}", out.status);
    let err = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "staticdl: {}: call of unresolved function no_such_symbol_anywhere",
        path.display()
    );
    assert!(err.contains(&expected), "{err}");
    // Data nothing defines is not trapped.
    let src = dir.join("data.c");
    std::fs::write(
        &src,
        "extern int missing_data;\nint read_missing(void) { return missing_data; }\n",
    )
    .unwrap();
    let so = dir.join("libmissingdata.so");
    let st = std::process::Command::new("gcc")
        .args(["-shared", "-fPIC", "-nostdlib", "-O1", "-o"])
        .arg(&so)
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success());
    let e = Namespace::new().load(&so, &trap).unwrap_err();
    assert!(
        e.to_string().contains("undefined symbol missing_data"),
        "{e}"
    );
}

/// With `record_imports`, each object tells where each of its imports was bound:
/// another object of the load, the host, the loader itself, or nowhere (weak).
#[test]
fn imports_are_reported_with_where_they_bound() {
    let ns = Namespace::new();
    let lib = ns
        .load(
            common::fixture("chain_a"),
            &opts().run_code(false).record_imports(true),
        )
        .unwrap();
    let imports = lib.imports();
    let find = |name: &str| {
        imports
            .iter()
            .find(|i| i.name == name)
            .unwrap_or_else(|| panic!("{name} not reported in {imports:?}"))
    };
    assert_eq!(find("host_record").bound, staticdl_loader::BoundTo::Host);
    let b = find("chain_b_value");
    assert_eq!(
        b.bound,
        staticdl_loader::BoundTo::Object(common::fixture("chain_b"))
    );
    // Nothing is recorded twice, and only undefined symbols are imports.
    let mut names: Vec<&str> = imports.iter().map(|i| i.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), imports.len());
    assert!(!names.contains(&"chain_a_total"));
    // Without the option nothing is kept.
    drop(lib);
    let plain = ns
        .load(common::fixture("chain_a"), &opts().run_code(false))
        .unwrap();
    assert!(plain.imports().is_empty());
}

extern "C" fn host_sub(a: i32, b: i32) -> i32 {
    a - b
}

/// A bind hook puts its own address into a PLT slot at load time, and
/// `Library::rebind` rewrites the slot of a loaded object later (RELRO opened
/// for the write): attaching to and detaching from a loaded object.
#[test]
fn bind_hooks_and_rebinding_redirect_plt_slots() {
    use staticdl_loader::{BindRequest, SlotKind};
    let sub = host_sub as extern "C" fn(i32, i32) -> i32 as usize;
    let add = host_add as extern "C" fn(i32, i32) -> i32 as usize;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let hooked = opts().bind_hook(std::sync::Arc::new(move |b: &BindRequest<'_>| {
        log.lock()
            .unwrap()
            .push((b.symbol.to_vec(), b.slot, b.target));
        (b.symbol == b"host_add").then_some(sub)
    }));
    let ns = Namespace::new();
    let lib = ns.load(common::fixture("hostimport"), &hooked).unwrap();
    // SAFETY: `int hostimport_call(int, int)`.
    let f: extern "C" fn(i32, i32) -> i32 = unsafe { func(&lib, "hostimport_call") };
    assert_eq!(f(7, 2), (7 - 2) * 2, "the hook's function is called");
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.contains(&(b"host_add".to_vec(), SlotKind::Plt, add)),
        "the hook saw the PLT slot bound to host_add: {seen:?}"
    );
    // Detach: the slot holds the hook's address; put the original back.
    let n = lib
        .rebind(|b: &BindRequest<'_>| (b.target == sub).then_some(add))
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(f(7, 2), (7 + 2) * 2, "the original is called again");
    // Attach again, and a hook that changes nothing writes nothing.
    assert_eq!(
        lib.rebind(|b: &BindRequest<'_>| (b.target == add).then_some(sub))
            .unwrap(),
        1
    );
    assert_eq!(f(7, 2), 10);
    assert_eq!(lib.rebind(|_: &BindRequest<'_>| None).unwrap(), 0);
}
