//! Many threads loading, looking up, calling and dropping objects through one
//! shared `static` [`Namespace`] at once.
//!
//! Owns: the concurrency checks of the loader's life cycle. Every initialiser
//! that ran must be matched by its finaliser once the last handle is gone, a
//! failing load must fail the same way under contention, thread-local storage
//! must stay per thread, and at the end nothing of any fixture may remain in
//! `/proc/self/maps` or in the namespace.
//!
//! Does not own: the single-threaded semantics (`tests/loader.rs`).

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use staticdl_loader::{ErrorKind, Library, LoadOptions, Namespace};

static NS: Namespace = Namespace::new();

/// How often each value was passed to `host_record`.
static RECORDS: [AtomicU64; 256] = [const { AtomicU64::new(0) }; 256];

extern "C" fn host_record(v: i32) {
    RECORDS[(v as usize) & 0xff].fetch_add(1, Ordering::SeqCst);
}

extern "C" fn host_add(a: i32, b: i32) -> i32 {
    a + b
}

/// `basic` records 99 (`'c'`) from its destructor: it gets a counter of its own.
static BASIC_FINIS: AtomicU64 = AtomicU64::new(0);

extern "C" fn basic_record(_: i32) {
    BASIC_FINIS.fetch_add(1, Ordering::SeqCst);
}

fn count(v: u8) -> u64 {
    RECORDS[v as usize].load(Ordering::SeqCst)
}

fn opts(fixture: &str) -> LoadOptions {
    let record = if fixture == "basic" {
        basic_record as extern "C" fn(i32) as usize
    } else {
        host_record as extern "C" fn(i32) as usize
    };
    LoadOptions::new()
        .system_dirs(false)
        .host_symbols(move |name: &[u8], _: Option<&[u8]>| match name {
            b"host_record" => Some(record),
            b"host_add" => Some(host_add as extern "C" fn(i32, i32) -> i32 as usize),
            b"__tls_get_addr" => Some(staticdl_loader::runtime::tls_get_addr_address()),
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

const FIXTURES: &[&str] = &[
    "basic",
    "order",
    "chain_a",
    "chain_c",
    "hostimport",
    "relr",
    "manysyms",
    "nostd",
    "tls",
    "undefined",
];

/// Use a freshly loaded fixture the way a host would, checking its answers.
fn exercise(name: &str, lib: &Library, thread: usize) {
    // SAFETY (all calls): each fixture documents these C signatures.
    unsafe {
        match name {
            "basic" => {
                let add: extern "C" fn(i32, i32) -> i32 = func(lib, "basic_add");
                assert_eq!(add(2, 3), 5);
                let ifunc: extern "C" fn(i32) -> i32 = func(lib, "basic_ifunc");
                assert_eq!(ifunc(7), 21);
            }
            "order" => assert!(lib.symbol("order_init").is_some()),
            "chain_a" => {
                let total: extern "C" fn() -> i32 = func(lib, "chain_a_total");
                assert_eq!(total(), 111);
                assert!(lib.symbol("chain_versioned@VER_1").is_some());
            }
            "chain_c" => assert!(lib.symbol("chain_c_value").is_some()),
            "hostimport" => {
                let f: extern "C" fn(i32, i32) -> i32 = func(lib, "hostimport_call");
                assert_eq!(f(20, 1), 42);
            }
            "relr" => {
                let n: extern "C" fn() -> i32 = func(lib, "relr_count");
                assert!(n() >= 64);
            }
            "manysyms" => {
                let i = (thread * 613) % 5000;
                let f: extern "C" fn() -> i32 = func(lib, &format!("manysyms_f{i}"));
                assert_eq!(f(), i as i32);
            }
            "nostd" => {
                let fib: extern "C" fn(u32) -> u64 = func(lib, "nostd_fib");
                assert_eq!(fib(50), 12_586_269_025);
            }
            "tls" => {
                let set: extern "C" fn(i32) = func(lib, "tls_set");
                let get: extern "C" fn() -> i32 = func(lib, "tls_get");
                set(1000 + thread as i32);
                std::thread::yield_now();
                assert_eq!(get(), 1000 + thread as i32, "TLS is per thread");
            }
            other => panic!("no exercise for {other}"),
        }
    }
}

/// xorshift64, one per thread: a fixed, reproducible mix of actions.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn mappings_of(paths: &[PathBuf]) -> Vec<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    maps.lines()
        .filter(|l| paths.iter().any(|p| l.ends_with(&*p.to_string_lossy())))
        .map(str::to_owned)
        .collect()
}

#[test]
fn threads_share_one_namespace() {
    const THREADS: usize = 8;
    const RUN_FOR: Duration = Duration::from_secs(3);
    let paths: Vec<PathBuf> = FIXTURES.iter().map(|f| common::fixture(f)).collect();
    let dir = paths[0].parent().unwrap().to_path_buf();
    let mut all_paths = paths.clone();
    all_paths.push(dir.join("libchain_b.so"));
    let before = mappings_of(&all_paths);
    assert!(
        before.is_empty(),
        "fixtures mapped before the test: {before:?}"
    );

    let loads = AtomicUsize::new(0);
    let failures = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let start = Barrier::new(THREADS);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (paths, loads, failures, stop, start) = (&paths, &loads, &failures, &stop, &start);
            s.spawn(move || {
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((t as u64 + 1) * 0x1234_5678_9abc_def1));
                let opts: Vec<LoadOptions> = FIXTURES.iter().map(|f| opts(f)).collect();
                let mut held: Vec<(usize, Library)> = Vec::new();
                start.wait();
                while !stop.load(Ordering::Relaxed) {
                    match rng.below(10) {
                        // Drop one held handle (maybe the last one of its object).
                        0..=2 if !held.is_empty() => {
                            let k = rng.below(held.len());
                            held.swap_remove(k);
                        }
                        _ => {
                            let f = rng.below(FIXTURES.len());
                            let name = FIXTURES[f];
                            match NS.load(&paths[f], &opts[f]) {
                                Ok(lib) => {
                                    assert_ne!(name, "undefined", "an unresolvable object loaded");
                                    loads.fetch_add(1, Ordering::Relaxed);
                                    exercise(name, &lib, t);
                                    // Keep some, drop others at once.
                                    if held.len() < 6 && rng.below(2) == 0 {
                                        held.push((f, lib));
                                    }
                                }
                                Err(e) => {
                                    assert_eq!(name, "undefined", "{e}");
                                    assert!(
                                        matches!(e.kind(), ErrorKind::UnresolvedSymbols { .. }),
                                        "{e}"
                                    );
                                    failures.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        }
                    }
                }
                drop(held);
            });
        }
        let t0 = Instant::now();
        while t0.elapsed() < RUN_FOR {
            // Meanwhile, the namespace can be inspected.
            for lib in NS.loaded() {
                assert!(lib.address_range().1 > 0);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        stop.store(true, Ordering::Relaxed);
    });

    let (loads, failures) = (loads.into_inner(), failures.into_inner());
    println!("{loads} successful loads, {failures} failed loads in {THREADS} threads");
    assert!(loads > 100, "only {loads} loads");
    assert!(failures > 0);
    assert!(
        NS.loaded().is_empty(),
        "objects still loaded: {:?}",
        NS.loaded()
    );
    // Every init matched by its fini: `order` records 1, 2, 3 and 12, 11, 10;
    // the chain records a, b, c at init and A, B, C at fini.
    let inits = count(1);
    println!(
        "order initialised {inits} times; chain_c {} times; basic finalised {} times",
        count(b'c'),
        BASIC_FINIS.load(Ordering::SeqCst)
    );
    assert!(BASIC_FINIS.load(Ordering::SeqCst) > 0);
    assert!(inits > 0, "order never loaded");
    for v in [2, 3, 10, 11, 12] {
        assert_eq!(count(v), inits, "record {v}");
    }
    for (init, fini) in [(b'a', b'A'), (b'b', b'B'), (b'c', b'C')] {
        assert!(count(init) > 0);
        assert_eq!(
            count(init),
            count(fini),
            "{} vs {}",
            init as char,
            fini as char
        );
    }
    // b is only ever loaded with a, in one group; c may be shared with a load of
    // chain_c alone, so it can be initialised fewer times than a.
    assert_eq!(count(b'a'), count(b'b'));
    let after = mappings_of(&all_paths);
    assert!(after.is_empty(), "mappings left: {after:#?}");
}
