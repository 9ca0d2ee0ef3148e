//! The `staticdl` facade against real objects: the registry (one plugin per file
//! however it is named, init once under concurrent opens, remembered failures,
//! no waiter left hanging), typed and unsafe lookups, unloading and
//! `keep_loaded`, diagnostics, and thread safety.
//!
//! The registry is process-wide, so every test opens its own copies of the
//! fixtures (`private_copy`): a copy is a different file, with its own registry
//! entry, and `/proc/self/maps` shows exactly whether it is still mapped. Each
//! test that watches what fixtures record through `host_record` has its own
//! recorder function.

mod common;

use std::ffi::{c_char, CStr};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Barrier, Mutex};
use std::thread;
use std::time::Duration;

use staticdl::{Error, OpenError, OpenOptions, Plugin};

/// Defines `extern "C" fn $f(i32)` that appends to its own `$store`.
macro_rules! recorder {
    ($f:ident, $store:ident) => {
        static $store: Mutex<Vec<i32>> = Mutex::new(Vec::new());
        extern "C" fn $f(v: i32) {
            $store.lock().unwrap().push(v);
        }
    };
}

/// A `host_record` for tests that do not look at what is recorded.
extern "C" fn ignore_record(_: i32) {}

/// Options offering `record` as the fixtures' `host_record` import.
fn with_record(record: extern "C" fn(i32)) -> OpenOptions {
    Plugin::options()
        .system_dirs(false)
        .host_symbol("host_record", record as usize)
}

fn take(store: &Mutex<Vec<i32>>) -> Vec<i32> {
    std::mem::take(&mut *store.lock().unwrap())
}

/// A copy of fixture `name` in a directory of its own for test `tag`.
fn private_copy(name: &str, tag: &str) -> PathBuf {
    let src = common::fixture(name);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("facade")
        .join(format!("{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let dst = dir.join(src.file_name().unwrap());
    fs::copy(&src, &dst).unwrap();
    dst.canonicalize().unwrap()
}

/// How many lines of `/proc/self/maps` map `path`.
fn mappings_of(path: &Path) -> usize {
    let maps = fs::read_to_string("/proc/self/maps").unwrap();
    let p = path.to_string_lossy();
    maps.lines().filter(|l| l.ends_with(&*p)).count()
}

/// Runs `n` copies of `f` on their own threads, all released at once, and fails
/// (rather than hangs) if they do not all finish within a minute.
fn on_threads<T: Send + 'static>(
    n: usize,
    f: impl Fn(usize) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let f = std::sync::Arc::new(f);
    let barrier = std::sync::Arc::new(Barrier::new(n));
    let (tx, rx) = mpsc::channel();
    for i in 0..n {
        let (f, barrier, tx) = (f.clone(), barrier.clone(), tx.clone());
        thread::spawn(move || {
            barrier.wait();
            let out = f(i);
            let _ = tx.send((i, out));
        });
    }
    let mut results: Vec<Option<T>> = (0..n).map(|_| None).collect();
    for _ in 0..n {
        let (i, out) = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("a thread hung: an open never returned");
        results[i] = Some(out);
    }
    results.into_iter().map(Option::unwrap).collect()
}

#[test]
fn one_plugin_per_file_however_it_is_named() {
    let path = private_copy("basic", "names");
    let dir = path.parent().unwrap();
    let opts = with_record(ignore_record);
    let a = opts.open(&path).unwrap();
    // `..` and `.` components.
    let dotted = dir
        .join("..")
        .join(dir.file_name().unwrap())
        .join(".")
        .join("libbasic.so");
    let b = opts.open(&dotted).unwrap();
    // A symlink, relative to its directory.
    let link = dir.join("link.so");
    std::os::unix::fs::symlink("libbasic.so", &link).unwrap();
    let c = opts.open(&link).unwrap();
    // A relative path from the current directory.
    let cwd = std::env::current_dir().unwrap().canonicalize().unwrap();
    let relative = path.strip_prefix(&cwd).map(Path::to_path_buf);
    // A hard link: another name for the same file.
    let hard = dir.join("hard.so");
    fs::hard_link(&path, &hard).unwrap();
    let d = opts.open(&hard).unwrap();
    assert!(Plugin::same(&a, &b) && Plugin::same(&a, &c) && Plugin::same(&a, &d));
    assert_eq!(a, c);
    if let Ok(rel) = relative {
        assert_eq!(opts.open(&rel).unwrap(), a);
    }
    assert_eq!(a.path(), path);
    assert_eq!(a.requested_path(), path);
    // One mapping for all of them.
    let ranges: Vec<_> = [&a, &b, &c, &d].iter().map(|p| p.address_range()).collect();
    assert!(ranges.windows(2).all(|w| w[0] == w[1]));

    // Re-opening by the same string does not look at the file system: the symlink
    // can go and the same string still finds the plugin.
    fs::remove_file(&link).unwrap();
    assert_eq!(opts.open(&link).unwrap(), a);
    // Another name for the removed link does look, and fails. (`Path` compares
    // component by component, so `dir/./link.so` would still be the same name.)
    let other = dir
        .join("..")
        .join(dir.file_name().unwrap())
        .join("link.so");
    let err = opts.open(other).unwrap_err();
    assert!(
        matches!(err.open_error(), Some(OpenError::Path { .. })),
        "{err}"
    );
    assert!(!err.is_previous_failure());

    drop((a, b, c, d));
    assert_eq!(mappings_of(&path), 0);
}

recorder!(record_once, ONCE);

#[test]
fn init_runs_once_when_eight_threads_open_at_once() {
    let path = private_copy("order", "once");
    let link = path.with_file_name("via-link.so");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    take(&ONCE);
    let plugins = on_threads(8, move |i| {
        let p = if i % 2 == 0 { &path } else { &link };
        with_record(record_once).open(p).unwrap()
    });
    assert!(plugins.iter().all(|p| Plugin::same(p, &plugins[0])));
    assert_eq!(take(&ONCE), [1, 2, 3], "DT_INIT, then DT_INIT_ARRAY, once");
    let path = plugins[0].path().to_path_buf();
    assert!(mappings_of(&path) > 0);
    drop(plugins);
    assert_eq!(
        take(&ONCE),
        [10, 11, 12],
        "finalisers once, at the last drop"
    );
    assert_eq!(mappings_of(&path), 0);
}

recorder!(record_fail, FAIL);

#[test]
fn failing_opens_never_leave_a_waiter_hanging() {
    let undefined = private_copy("undefined", "hang-undefined");
    let badversion = private_copy("abi_badversion", "hang-abi");
    let initfail = private_copy("abi_initfail", "hang-init");
    let paths = [undefined.clone(), badversion.clone(), initfail.clone()];
    take(&FAIL);
    let results = on_threads(24, move |i| {
        let p = &paths[i % 3];
        with_record(record_fail).open(p).map(|_| ())
    });
    for (i, r) in results.iter().enumerate() {
        let e = r.as_ref().unwrap_err();
        match i % 3 {
            0 => assert!(e.to_string().contains("undefined symbols"), "{e}"),
            1 => assert!(
                matches!(
                    e.open_error(),
                    Some(OpenError::AbiVersion {
                        found: 2,
                        supported: 1
                    })
                ),
                "{e}"
            ),
            _ => assert!(
                matches!(e.open_error(), Some(OpenError::InitFailed { code: 7, .. })),
                "{e}"
            ),
        }
    }
    // One load each: the bad-version init never ran (666), the failing init ran
    // once (700), its fini never (701), and its ELF destructor ran when it was
    // unloaded (702).
    let mut records = take(&FAIL);
    records.sort();
    assert_eq!(records, [700, 702]);
    for p in [&undefined, &badversion, &initfail] {
        assert_eq!(mappings_of(p), 0, "{} still mapped", p.display());
        let again = with_record(record_fail).open(p).unwrap_err();
        assert!(again.is_previous_failure(), "{again}");
    }
}

#[test]
fn a_failure_is_remembered_until_forgotten() {
    let path = private_copy("undefined", "previous");
    let first = Plugin::open(&path).unwrap_err();
    let expected = format!(
        "open({path:?}): undefined symbols no_such_symbol_anywhere, another_missing_symbol"
    );
    assert_eq!(first.to_string(), expected);
    assert!(!first.is_previous_failure());
    assert!(matches!(
        first.loader_error().map(|e| e.kind()),
        Some(staticdl::loader::ErrorKind::UnresolvedSymbols { .. })
    ));
    let second = Plugin::open(&path).unwrap_err();
    assert_eq!(second.to_string(), format!("{expected} (previous failure)"));
    assert!(second.is_previous_failure());
    // Through another name of the same file, the failure is remembered too.
    let dotted = path.parent().unwrap().join(".").join("libundefined.so");
    assert!(Plugin::open(&dotted).unwrap_err().is_previous_failure());

    assert!(staticdl::forget_failure(&path));
    assert!(!staticdl::forget_failure(&path), "nothing left to forget");
    let third = Plugin::open(&path).unwrap_err();
    assert!(!third.is_previous_failure());
    // `retry` forgets and tries again in one step.
    assert!(!Plugin::retry(&path).unwrap_err().is_previous_failure());
    // A missing file is not remembered: it may appear later.
    let missing = path.with_file_name("libnot-there.so");
    let e = Plugin::open(&missing).unwrap_err();
    assert!(matches!(e.open_error(), Some(OpenError::Path { .. })));
    fs::copy(common::fixture("abi_callconv"), &missing).unwrap();
    let p = Plugin::open(&missing).unwrap();
    assert_eq!(p.descriptor(), None);
}

#[test]
fn typed_lookup_checks_the_declared_signature() {
    let path = private_copy("abi_hello", "typed");
    let p = Plugin::open(&path).unwrap();
    let add = p.get::<extern "C" fn(i32, i32) -> i32>("add").unwrap();
    assert_eq!(add.call(2, 3), 5);
    let scale = p.get::<extern "C" fn(f64, f64) -> f64>("scale").unwrap();
    assert_eq!(scale.call(1.5, 4.0), 6.0);
    // `unsafe extern "C" fn` has the same signature.
    let strlen = p
        .get::<unsafe extern "C" fn(*const u8) -> usize>("strlen8")
        .unwrap();
    // SAFETY: a NUL-terminated string, as `abi_hello_strlen` requires.
    assert_eq!(unsafe { strlen.call(c"staticdl".as_ptr().cast()) }, 8);

    let err = p.get::<extern "C" fn(i64, i64) -> i64>("add").unwrap_err();
    match &err {
        Error::SignatureMismatch {
            name,
            expected,
            found,
        } => {
            assert_eq!(name, "add");
            assert_eq!(expected, "fn(i64,i64)->i64");
            assert_eq!(found, "fn(i32,i32)->i32");
        }
        other => panic!("expected a signature mismatch, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "add: signature mismatch: expected `fn(i64,i64)->i64`, found `fn(i32,i32)->i32`"
    );
    assert!(matches!(
        p.get::<extern "C" fn(i32) -> i32>("add"),
        Err(Error::SignatureMismatch { .. })
    ));
    // The symbol exists, but the descriptor does not declare it.
    assert!(matches!(
        p.get::<extern "C" fn(i32, i32) -> i32>("abi_hello_add"),
        Err(Error::NotExported { .. })
    ));
    // A plain library has no declarations to check against.
    let plain = Plugin::open(private_copy("abi_callconv", "typed-plain")).unwrap();
    let e = plain
        .get::<extern "C" fn(i32) -> i32>("callconv_negate")
        .unwrap_err();
    assert!(matches!(e, Error::NoDescriptor { .. }), "{e}");
}

#[test]
fn unsafe_lookup_of_functions_data_and_versions() {
    let p = with_record(ignore_record)
        .open(private_copy("basic", "unsafe"))
        .unwrap();
    // SAFETY: each type is the C type of the fixture's symbol (basic.c).
    unsafe {
        let add = p
            .symbol::<extern "C" fn(i32, i32) -> i32>("basic_add")
            .unwrap();
        assert_eq!(add.call(20, 22), 42);
        let counter = p.symbol::<*const i32>("basic_counter").unwrap();
        assert_eq!(**counter, 42, "the constructor ran");
        let greeting = p.symbol::<*const *const c_char>("basic_greeting").unwrap();
        assert_eq!(
            CStr::from_ptr(**greeting).to_str().unwrap(),
            "hello from basic"
        );
        assert_eq!(
            counter.as_ptr(),
            p.symbol_address("basic_counter").unwrap().as_ptr()
        );
        let e = p.symbol::<extern "C" fn()>("basic_times3").unwrap_err();
        assert!(matches!(e, Error::SymbolNotFound { .. }), "{e}");
        assert!(e.to_string().contains("\"basic_times3\" not found"), "{e}");
    }

    // Versions: chain_versioned exists as VER_1 (returns 1) and VER_2 (default, 2).
    let chain = with_record(ignore_record)
        .open(common::fixture("chain_c"))
        .unwrap();
    // SAFETY: every version is `int chain_versioned(void)`.
    unsafe {
        let v1 = chain
            .symbol::<extern "C" fn() -> i32>("chain_versioned@VER_1")
            .unwrap();
        let v2 = chain
            .symbol::<extern "C" fn() -> i32>("chain_versioned@VER_2")
            .unwrap();
        let default = chain
            .symbol::<extern "C" fn() -> i32>("chain_versioned")
            .unwrap();
        assert_eq!((v1.call(), v2.call(), default.call()), (1, 2, 2));
        assert!(chain
            .symbol::<extern "C" fn() -> i32>("chain_versioned@VER_9")
            .is_err());
    }
}

recorder!(record_unload, UNLOAD);

#[test]
fn the_last_handle_runs_fini_and_unmaps() {
    let path = private_copy("basic", "unload");
    take(&UNLOAD);
    let p = with_record(record_unload).open(&path).unwrap();
    let q = p.clone();
    let r = Plugin::open(&path).unwrap();
    assert!(mappings_of(&path) > 0);
    drop(p);
    assert!(!r.close(), "q still holds it");
    assert!(take(&UNLOAD).is_empty());
    assert!(q.close(), "the last handle unloads");
    assert_eq!(take(&UNLOAD), [99], "the destructor ran");
    assert_eq!(mappings_of(&path), 0);
    // Opening again loads it afresh (the registry held it only weakly).
    let again = with_record(record_unload).open(&path).unwrap();
    // SAFETY: `int basic_counter`.
    assert_eq!(
        unsafe { **again.symbol::<*const i32>("basic_counter").unwrap() },
        42
    );
    drop(again);
    assert_eq!(take(&UNLOAD), [99]);
    assert_eq!(mappings_of(&path), 0);
}

recorder!(record_keep, KEEP);

#[test]
fn keep_loaded_never_unloads() {
    let path = private_copy("basic", "keep");
    take(&KEEP);
    let p = with_record(record_keep)
        .keep_loaded(true)
        .open(&path)
        .unwrap();
    let range = p.address_range();
    assert!(!p.close(), "the registry keeps a handle");
    assert!(take(&KEEP).is_empty(), "no fini");
    assert!(mappings_of(&path) > 0);
    let again = Plugin::open(&path).unwrap();
    assert_eq!(again.address_range(), range);
    drop(again);

    // Pinning a plugin that was opened without it.
    let later = private_copy("basic", "keep-later");
    let first = with_record(record_keep).open(&later).unwrap();
    let pinned = Plugin::options().keep_loaded(true).open(&later).unwrap();
    assert_eq!(first, pinned);
    drop((first, pinned));
    assert!(mappings_of(&later) > 0);
    assert!(take(&KEEP).is_empty());
}

#[test]
fn diagnostics_describe_the_object() {
    let a = with_record(ignore_record)
        .open(common::fixture("chain_a"))
        .unwrap();
    assert_eq!(a.soname(), Some("libchain_a.so"));
    assert_eq!(a.dependencies(), ["libchain_b.so"]);
    assert!(a.exports().iter().any(|e| e == "chain_a_total"));
    let (start, len) = a.address_range();
    let f = a.symbol_address("chain_a_total").unwrap().as_ptr() as usize;
    assert!(f >= start && f < start + len);
    // A symbol of a dependency is found breadth-first, like dlsym.
    let dep = a.symbol_address("chain_c_value").unwrap().as_ptr() as usize;
    assert!(!(dep >= start && dep < start + len));
    assert!(a.path().is_absolute());
    assert_eq!(a.descriptor(), None);
    let debug = format!("{a:?}");
    assert!(
        debug.contains("libchain_a.so") && debug.contains("range"),
        "{debug}"
    );

    let hello = Plugin::open(private_copy("abi_hello", "diag")).unwrap();
    let d = hello.descriptor().unwrap();
    assert_eq!((d.name(), d.version()), ("abi_hello", "1.2.0"));
    assert!(format!("{hello:?}").contains("abi_hello"));
    assert!(hello.dependencies().is_empty());
    assert!(hello.exports().iter().any(|e| e == "STATICDL_PLUGIN"));
}

/// Compile-time: the handles and errors cross threads.
#[test]
fn handles_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Plugin>();
    send_sync::<Error>();
    send_sync::<OpenOptions>();
    send_sync::<staticdl::Symbol<'static, extern "C" fn(i32) -> i32>>();
    send_sync::<staticdl::Reply<'static>>();
    send_sync::<staticdl::Descriptor>();
}

recorder!(record_hammer, HAMMER);

#[test]
fn eight_threads_hammer_open_lookup_close() {
    let shared = private_copy("order", "hammer-shared");
    let own: Vec<PathBuf> = (0..8)
        .map(|i| private_copy("basic", &format!("hammer-own-{i}")))
        .collect();
    let failing = private_copy("undefined", "hammer-failing");
    take(&HAMMER);
    let (s, o, f) = (shared.clone(), own.clone(), failing.clone());
    on_threads(8, move |i| {
        for round in 0..40i32 {
            // The same path from every thread.
            let p = with_record(record_hammer).open(&s).unwrap();
            // SAFETY: `void order_init(void)` exists in the fixture; only its
            // address is used.
            let init = unsafe { p.symbol::<extern "C" fn()>("order_init") }.unwrap();
            assert!(p.library().contains(init.as_ptr() as usize));
            if round % 3 == (i % 3) as i32 {
                p.close();
            } else {
                drop(p);
            }
            // A path of this thread's own.
            let q = with_record(ignore_record).open(&o[i]).unwrap();
            // SAFETY: `int basic_add(int, int)`.
            let add = unsafe { q.symbol::<extern "C" fn(i32, i32) -> i32>("basic_add") }.unwrap();
            assert_eq!(add.call(i as i32, round), i as i32 + round);
            q.close();
            // A path that always fails.
            let e = Plugin::open(&f).unwrap_err();
            assert!(e.to_string().contains("undefined symbols"), "{e}");
        }
    });
    // Every load of the shared plugin ran its initialisers once and its
    // finalisers once, never overlapping: complete cycles only.
    let records = take(&HAMMER);
    assert!(!records.is_empty());
    for cycle in records.chunks(6) {
        assert_eq!(cycle, [1, 2, 3, 10, 11, 12], "in {records:?}");
    }
    for p in own.iter().chain([&shared, &failing]) {
        assert_eq!(mappings_of(p), 0, "{} still mapped", p.display());
    }
}

/// The thread whose log messages `opening_a_plugin_from_its_own_init_or_fini_is_refused`
/// acts on, and what the opens it made returned.
static REENTRANT: Mutex<Option<(thread::ThreadId, PathBuf)>> = Mutex::new(None);
static REENTRANT_RESULTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

#[test]
fn opening_a_plugin_from_its_own_init_or_fini_is_refused() {
    let path = private_copy("abi_hello", "reentrant");
    *REENTRANT.lock().unwrap() = Some((thread::current().id(), path.clone()));
    // abi_hello's init and fini log; the host's log handler then opens the plugin
    // again, from inside its own init or fini. Waiting there would never end.
    staticdl::set_log_handler(|_, msg| {
        let target = REENTRANT.lock().unwrap().clone();
        if let Some((id, path)) = target {
            if id == thread::current().id() && msg.starts_with("abi_hello: ") {
                let r = Plugin::open(&path).map(|_| ()).map_err(|e| e.to_string());
                REENTRANT_RESULTS
                    .lock()
                    .unwrap()
                    .push(format!("{msg}: {r:?}"));
            }
        }
    });
    let p = Plugin::open(&path).unwrap();
    assert!(p.close());
    staticdl::reset_log_handler();
    *REENTRANT.lock().unwrap() = None;
    let results = std::mem::take(&mut *REENTRANT_RESULTS.lock().unwrap());
    assert_eq!(results.len(), 2, "{results:?}");
    assert!(
        results[0].starts_with("abi_hello: init: Err("),
        "{results:?}"
    );
    assert!(
        results[1].starts_with("abi_hello: fini: Err("),
        "{results:?}"
    );
    for r in &results {
        assert!(
            r.contains("opened again while its own init or fini was running"),
            "{r}"
        );
    }
    assert_eq!(mappings_of(&path), 0);
}

/// A library built against glibc opens with the default options: its
/// `libc.so.6` is answered by the host's own C library, never mapped again.
#[test]
fn glibc_linked_system_library_opens_with_the_default_libc_provider() {
    let zlib = std::path::Path::new("/lib/x86_64-linux-gnu/libz.so.1");
    assert!(zlib.exists(), "zlib1g is installed by .ci/run");
    let libc_maps = || {
        std::fs::read_to_string("/proc/self/maps")
            .unwrap()
            .lines()
            .filter(|l| l.contains("libc.so.6"))
            .count()
    };
    let before = libc_maps();
    let plugin = staticdl::Plugin::open(zlib).unwrap();
    // SAFETY: zlib declares `const char *zlibVersion(void)`.
    let version =
        unsafe { plugin.symbol::<extern "C" fn() -> *const std::ffi::c_char>("zlibVersion") }
            .unwrap();
    // SAFETY: zlibVersion returns a static NUL-terminated string.
    let v = unsafe { std::ffi::CStr::from_ptr(version.call()) }
        .to_str()
        .unwrap();
    assert!(v.starts_with("1."), "{v}");
    assert_eq!(
        libc_maps(),
        before,
        "the system's libc.so.6 was mapped a second time"
    );
    assert!(
        !plugin.dependencies().is_empty(),
        "libz.so.1 declares DT_NEEDED libc.so.6"
    );
}

/// A plugin opened from its bytes in memory: no file is read at open, the
/// plugin is known by the name given (path, errors, the kernel's mapping list),
/// the same name opens the same plugin, and unloading leaves nothing mapped.
#[test]
fn a_plugin_opens_from_memory_under_its_name() {
    let bytes = fs::read(common::fixture("abi_hello")).unwrap();
    let name = "abi-hello-from-memory.so";
    let p = Plugin::open_bytes(name, &bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.path(), Path::new(name));
    assert_eq!(p.descriptor().map(|d| d.name()), Some("abi_hello"));
    let add = p.get::<extern "C" fn(i32, i32) -> i32>("add").unwrap();
    assert_eq!(add.call(20, 22), 42);
    let memfd = format!("/memfd:{name}");
    let maps = || fs::read_to_string("/proc/self/maps").unwrap();
    assert!(maps().contains(&memfd), "the anonymous file is mapped");
    // The same name is the same plugin, whatever bytes come with it.
    let again = Plugin::open_bytes(name, b"not even ELF").unwrap();
    assert!(Plugin::same(&p, &again));
    drop((add, again));
    assert!(p.close());
    assert!(
        !maps().contains(&memfd),
        "left mapped after the last handle"
    );
    // Bad bytes: a clean error naming the object.
    let e = Plugin::open_bytes("garbage.so", b"not even ELF").unwrap_err();
    assert_eq!(e.to_string(), "open(\"garbage.so\"): not an ELF file");
}
