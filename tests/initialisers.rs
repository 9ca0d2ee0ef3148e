//! Initialisers run with the loader's lock released: a constructor may use the
//! dynamic linker (open another library by bare name through its own
//! `DT_RUNPATH`, open its own object, open another plugin through the host),
//! a second thread opening an object whose constructor is still running waits
//! for it and then shares it, other loads go on meanwhile, and a plugin refused
//! by its descriptor `init` unloads with everything its constructor opened.
//!
//! The fixtures in `tests/fixtures/initialisers` are ordinary C shared objects
//! (linked against the C library; `dlopen` comes from staticdl's libc provider),
//! built here into a directory of this test's own.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Barrier, Mutex, OnceLock};
use std::time::{Duration, Instant};

use staticdl::{OpenOptions, Plugin};

fn src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/initialisers")
        .join(name)
}

/// The fixtures, built once: `DIR/libinit_*.so`, with the helper alone in
/// `DIR/helpers/`.
fn dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("initialisers");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("helpers")).unwrap();
        let abi = format!("-I{}/abi/include", env!("CARGO_MANIFEST_DIR"));
        let runpath = ["-Wl,--enable-new-dtags", "-Wl,-rpath,$ORIGIN/helpers"];
        gcc(&dir.join("helpers/libinit_helper.so"), "helper.c", &[]);
        gcc(
            &dir.join("libinit_ctor_dlopen.so"),
            "ctor_dlopen.c",
            &runpath,
        );
        gcc(&dir.join("libinit_sleep.so"), "ctor_sleep.c", &[]);
        gcc(
            &dir.join("libinit_open_plugin.so"),
            "ctor_open_plugin.c",
            &[],
        );
        let mut initfail = runpath.to_vec();
        initfail.push(&abi);
        gcc(
            &dir.join("libinit_initfail.so"),
            "ctor_initfail.c",
            &initfail,
        );
        dir
    })
}

fn gcc(out: &Path, source: &str, extra: &[&str]) {
    let name = out.file_name().unwrap().to_str().unwrap();
    let o = Command::new("gcc")
        .args(["-shared", "-fPIC", "-O1", "-Wall", "-Wextra"])
        .arg(format!("-Wl,-soname,{name}"))
        .args(extra)
        .arg("-o")
        .arg(out)
        .arg(src(source))
        .output()
        .expect("running gcc");
    assert!(
        o.status.success(),
        "gcc {source}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Whether some mapping of this process is of `path`.
fn mapped(path: &Path) -> bool {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let p = path.to_string_lossy();
    maps.lines().any(|l| l.ends_with(&*p))
}

/// The `int` the object exports as `name`.
fn read_int(p: &Plugin, name: &str) -> i32 {
    // SAFETY: each caller names an `int` of the fixture.
    let v = unsafe { p.symbol::<*const i32>(name) }.unwrap_or_else(|e| panic!("{e}"));
    // SAFETY: the plugin is loaded and the symbol is an `int`.
    unsafe { *v.as_ptr().cast::<i32>() }
}

/// Tests here share the process namespace and load the same files: one at a time.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn constructor_opens_a_library_through_its_own_runpath_and_itself() {
    let _g = serial();
    let lib = dir().join("libinit_ctor_dlopen.so");
    let helper = dir().join("helpers/libinit_helper.so");
    // The helper is found only through the constructor's object: not on the
    // system path, not in the current directory.
    assert!(!Path::new("libinit_helper.so").exists());
    let p = Plugin::open(&lib).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read_int(&p, "ctor_calls"), 1);
    assert_eq!(read_int(&p, "ctor_helper_result"), 3 * 14);
    // Its own handle came back, and named this very object.
    assert_eq!(read_int(&p, "ctor_self_result"), 1);
    // The constructor closed the helper again: nothing holds it.
    assert!(!mapped(&helper), "the helper is still mapped");
    assert!(p.close());
    assert!(!mapped(&lib));
}

#[test]
fn a_second_opener_waits_for_the_constructor_and_shares_the_object() {
    let _g = serial();
    let lib = dir().join("libinit_sleep.so");
    let ns = staticdl::provider::namespace();
    let opts = staticdl::provider::load_options();
    let start = Arc::new(Barrier::new(2));
    let first = {
        let (lib, opts, start) = (lib.clone(), opts.clone(), start.clone());
        std::thread::spawn(move || {
            start.wait();
            ns.load(&lib, &opts).unwrap_or_else(|e| panic!("{e}"))
        })
    };
    start.wait();
    // Well inside the 300 ms constructor of the first load.
    std::thread::sleep(Duration::from_millis(60));
    // Meanwhile the namespace is not locked: another object loads at once.
    let t = Instant::now();
    let other = ns
        .load(dir().join("helpers/libinit_helper.so"), &opts)
        .unwrap_or_else(|e| panic!("{e}"));
    let other_took = t.elapsed();
    // The same object: this open waits for its constructor to finish.
    let second = ns.load(&lib, &opts).unwrap_or_else(|e| panic!("{e}"));
    let ready = second.symbol("sleeper_ready").expect("exported");
    // SAFETY: `int sleeper_ready(void)`.
    let ready: extern "C" fn() -> i32 = unsafe { std::mem::transmute(ready.as_ptr()) };
    assert_eq!(ready(), 1, "returned before the constructor finished");
    let first = first.join().unwrap();
    assert!(first.same_object(&second));
    let inits = second.symbol("sleeper_inits").expect("exported");
    // SAFETY: `int sleeper_inits`, in the loaded object.
    assert_eq!(unsafe { *(inits.as_ptr() as *const i32) }, 1);
    assert!(
        other_took < Duration::from_millis(200),
        "loading another object waited for the constructor ({other_took:?})"
    );
    drop((first, second, other));
    assert!(!mapped(&lib));
}

#[test]
fn two_threads_racing_through_plugin_open_share_one_initialisation() {
    let _g = serial();
    let lib = dir().join("libinit_sleep.so");
    let start = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (lib, start) = (lib.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                let p = Plugin::open(&lib).unwrap_or_else(|e| panic!("{e}"));
                let ready = p.symbol_address("sleeper_ready").expect("exported");
                // SAFETY: `int sleeper_ready(void)`, called while `p` holds it.
                let ready: extern "C" fn() -> i32 = unsafe { std::mem::transmute(ready) };
                let r = ready();
                (p, r)
            })
        })
        .collect();
    let opened: Vec<(Plugin, i32)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    for (p, r) in &opened {
        assert_eq!(*r, 1, "an open returned before the constructor finished");
        assert!(Plugin::same(p, &opened[0].0));
    }
    assert_eq!(read_int(&opened[0].0, "sleeper_inits"), 1);
    drop(opened);
    assert!(!mapped(&lib));
}

static OTHER: Mutex<Option<Plugin>> = Mutex::new(None);

/// Called by `libinit_open_plugin.so`'s constructor: opens another plugin
/// through the facade, keeps it, and says whether that worked.
extern "C" fn host_open_other() -> i32 {
    match Plugin::open(dir().join("libinit_sleep.so")) {
        Ok(p) => {
            let ok = read_int(&p, "sleeper_inits");
            *OTHER.lock().unwrap() = Some(p);
            ok
        }
        Err(e) => {
            eprintln!("{e}");
            -1
        }
    }
}

#[test]
fn constructor_opens_another_plugin_through_the_host() {
    let _g = serial();
    let lib = dir().join("libinit_open_plugin.so");
    let p = OpenOptions::new()
        .host_symbol(
            "host_open_other",
            host_open_other as extern "C" fn() -> i32 as usize,
        )
        .open(&lib)
        .unwrap_or_else(|e| panic!("{e}"));
    // The other plugin opened, and its constructor had run once.
    assert_eq!(read_int(&p, "open_plugin_result"), 1);
    let other = OTHER.lock().unwrap().take().expect("kept by the callback");
    assert_eq!(read_int(&other, "sleeper_inits"), 1);
    drop((p, other));
    assert!(!mapped(&lib));
    assert!(!mapped(&dir().join("libinit_sleep.so")));
}

#[test]
fn failing_plugin_init_unloads_what_its_constructor_opened() {
    let _g = serial();
    let lib = dir().join("libinit_initfail.so");
    let helper = dir().join("helpers/libinit_helper.so");
    let e = Plugin::open(&lib).unwrap_err();
    // 9: the constructor had the helper open when the descriptor's init ran.
    assert!(
        e.to_string()
            .ends_with("plugin init_initfail: init returned 9"),
        "{e}"
    );
    assert!(!mapped(&lib), "the refused plugin is still mapped");
    assert!(
        !mapped(&helper),
        "what its constructor opened is still mapped"
    );
}
