//! `include/staticdl.h` against the Rust definitions.
//!
//! Owns the checks that the C mirror cannot drift from the Rust types: a C file of
//! `_Static_assert`s generated from `staticdl_abi::c_layout` (sizes, alignments,
//! field offsets, constants) must compile, the same file with one number changed
//! must not, and a C plugin written with the header's macros
//! (`tests/fixtures/plugin.c`) is built into a shared object, loaded with the
//! system `dlopen` and read, initialised and called through the Rust side of the
//! contract.
//!
//! Needs a C compiler: `$CC`, or `gcc`.

use std::ffi::c_void;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use staticdl_abi::c_layout::{CONSTANTS, STRINGS, TYPES};

fn include_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("include")
}

fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("staticdl-abi-c");
    std::fs::create_dir_all(&dir).expect("create the C output directory");
    dir
}

fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "gcc".into())
}

/// Runs the C compiler; `Err(stderr)` if it fails.
fn compile(compiler: &str, args: &[&str]) -> Result<(), String> {
    let include = include_dir();
    let output = Command::new(compiler)
        .arg("-I")
        .arg(&include)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler `{compiler}`: {e}"));
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// A C (or C++) file asserting every size, alignment, offset and constant that the
/// Rust side reports. `tamper` names a type whose size is misstated on purpose.
fn layout_source(tamper: Option<&str>) -> String {
    let mut c = String::from(
        "#include <stddef.h>\n#include \"staticdl.h\"\n\
         #ifdef __cplusplus\n#define CHECK static_assert\n#define ALIGNOF alignof\n\
         #else\n#define CHECK _Static_assert\n#define ALIGNOF _Alignof\n#endif\n",
    );
    for ty in TYPES {
        let size = ty.size + usize::from(tamper == Some(ty.name));
        let name = ty.name;
        writeln!(
            c,
            "CHECK(sizeof({name}) == {size}, \"sizeof({name}) == {size} in Rust\");"
        )
        .unwrap();
        let align = ty.align;
        writeln!(
            c,
            "CHECK(ALIGNOF({name}) == {align}, \"alignof({name}) == {align} in Rust\");"
        )
        .unwrap();
        for (field, offset) in ty.fields {
            writeln!(
                c,
                "CHECK(offsetof({name}, {field}) == {offset}, \"offsetof({name}, {field}) == {offset} in Rust\");"
            )
            .unwrap();
        }
    }
    for (name, value) in CONSTANTS {
        writeln!(
            c,
            "CHECK((long long)({name}) == {value}LL, \"{name} == {value} in Rust\");"
        )
        .unwrap();
    }
    for (name, value) in STRINGS {
        let size = value.len() + 1;
        writeln!(
            c,
            "CHECK(sizeof({name}) == {size}, \"{name} has {size} bytes in Rust\");"
        )
        .unwrap();
    }
    c
}

fn write(name: &str, contents: &str) -> PathBuf {
    let path = out_dir().join(name);
    std::fs::write(&path, contents).expect("write a C source");
    path
}

#[test]
fn header_matches_the_rust_layout() {
    let src = write("layout.c", &layout_source(None));
    let src = src.to_str().unwrap();
    compile(
        &cc(),
        &[
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-fsyntax-only",
            src,
        ],
    )
    .unwrap_or_else(|stderr| panic!("staticdl.h drifted from the Rust types:\n{stderr}"));
}

#[test]
fn a_drifted_layout_fails_to_compile() {
    let src = write("layout_drift.c", &layout_source(Some("staticdl_request")));
    let stderr = compile(&cc(), &["-std=c11", "-fsyntax-only", src.to_str().unwrap()])
        .expect_err("a misstated size must fail the check");
    assert!(stderr.contains("sizeof(staticdl_request)"), "{stderr}");
}

#[test]
fn header_compiles_as_cpp() {
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "g++".into());
    if Command::new(&cxx).arg("--version").output().is_err() {
        eprintln!("skipped: no C++ compiler `{cxx}`");
        return;
    }
    let src = write("layout.cpp", &layout_source(None));
    compile(
        &cxx,
        &[
            "-std=c++11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-fsyntax-only",
            src.to_str().unwrap(),
        ],
    )
    .unwrap_or_else(|stderr| panic!("staticdl.h does not compile as C++:\n{stderr}"));
}

#[test]
fn declaration_macros_compile_without_routes() {
    let src = write(
        "no_routes.c",
        "#include \"staticdl.h\"\n\
         static void tick(void) {}\n\
         static const staticdl_export exports[] = { STATICDL_EXPORT(tick, \"fn()->()\") };\n\
         STATICDL_PLUGIN_DEFINE(\"tiny\", \"0\", exports, NULL, NULL);\n",
    );
    let obj = out_dir().join("no_routes.o");
    let args = [
        "-std=c11",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-fPIC",
        "-c",
        "-o",
        obj.to_str().unwrap(),
        src.to_str().unwrap(),
    ];
    compile(&cc(), &args).unwrap_or_else(|stderr| panic!("{stderr}"));
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod loaded {
    //! The C fixture loaded with glibc's `dlopen` and driven from Rust.

    use super::*;
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::ffi::{c_char, c_int, CStr, CString};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use staticdl_abi::{
        call_handler, HostApi, PluginDescriptor, Request, DESCRIPTOR_SYMBOL, HANDLER_ERROR,
        HANDLER_SIGNATURE, INIT_OK,
    };

    unsafe extern "C" {
        fn dlopen(filename: *const c_char, flags: c_int) -> *mut c_void;
        fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
        fn dlerror() -> *const c_char;
        fn dlclose(handle: *mut c_void) -> c_int;
    }
    const RTLD_NOW: c_int = 2;

    static LOGS: Mutex<Vec<(u32, String)>> = Mutex::new(Vec::new());
    static LIVE_BLOCKS: AtomicUsize = AtomicUsize::new(0);

    unsafe extern "C" fn log(level: u32, message: *const u8, len: usize) {
        // SAFETY: the log contract: `len` readable bytes for the call.
        let bytes = unsafe { std::slice::from_raw_parts(message, len) };
        LOGS.lock()
            .unwrap()
            .push((level, String::from_utf8_lossy(bytes).into_owned()));
    }

    unsafe extern "C" fn alloc(size: usize, align: usize) -> *mut u8 {
        LIVE_BLOCKS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: the alloc contract: a valid non-zero-sized layout.
        unsafe { System.alloc(Layout::from_size_align_unchecked(size, align)) }
    }

    unsafe extern "C" fn dealloc(ptr: *mut u8, size: usize, align: usize) {
        LIVE_BLOCKS.fetch_sub(1, Ordering::SeqCst);
        // SAFETY: the dealloc contract: a block from `alloc` with its layout.
        unsafe { System.dealloc(ptr, Layout::from_size_align_unchecked(size, align)) }
    }

    static HOST: HostApi = HostApi::new()
        .with_log(log)
        .with_allocator(alloc, dealloc, None);

    struct Library(*mut c_void);

    impl Library {
        fn open(path: &Path) -> Self {
            let path = CString::new(path.to_str().unwrap()).unwrap();
            // SAFETY: a NUL-terminated path; the fixture has no constructors.
            let handle = unsafe { dlopen(path.as_ptr(), RTLD_NOW) };
            if handle.is_null() {
                // SAFETY: dlerror returns a NUL-terminated message after a failure.
                panic!("dlopen: {:?}", unsafe { CStr::from_ptr(dlerror()) });
            }
            Self(handle)
        }

        fn symbol(&self, name: &str) -> *const c_void {
            let name = CString::new(name).unwrap();
            // SAFETY: a live handle and a NUL-terminated name.
            let addr = unsafe { dlsym(self.0, name.as_ptr()) };
            assert!(!addr.is_null(), "{name:?} not found");
            addr
        }

        fn string(&self, name: &str) -> String {
            // SAFETY: the fixture defines these as NUL-terminated `const char[]`s.
            unsafe { CStr::from_ptr(self.symbol(name).cast()) }
                .to_str()
                .unwrap()
                .to_owned()
        }
    }

    impl Drop for Library {
        fn drop(&mut self) {
            // SAFETY: a live handle, closed once, after every use of the library.
            unsafe { dlclose(self.0) };
        }
    }

    fn build_fixture() -> PathBuf {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plugin.c");
        let lib = out_dir().join("libc_plugin.so");
        let args = [
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-fPIC",
            "-shared",
            "-fvisibility=hidden",
            "-o",
            lib.to_str().unwrap(),
            src.to_str().unwrap(),
        ];
        compile(&cc(), &args)
            .unwrap_or_else(|stderr| panic!("the C fixture does not build:\n{stderr}"));
        lib
    }

    #[test]
    fn c_plugin_round_trip() {
        let lib = Library::open(&build_fixture());
        assert_eq!(lib.string("c_descriptor_symbol"), DESCRIPTOR_SYMBOL);
        assert_eq!(lib.string("c_handler_signature"), HANDLER_SIGNATURE);

        // SAFETY: the address of the exported descriptor of a loaded object.
        let desc =
            unsafe { PluginDescriptor::from_ptr(lib.symbol(DESCRIPTOR_SYMBOL)) }.expect("header");
        // SAFETY: the descriptor lives in the object's read-only data while it is open.
        let info = unsafe { desc.validate() }.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((info.name(), info.version()), ("c-plugin", "2.1.0"));
        let exports: Vec<_> = info.exports().map(|e| (e.name(), e.signature())).collect();
        assert_eq!(
            exports,
            [
                ("c_add", "fn(i32,i32)->i32"),
                ("strlen", "fn(*const u8)->usize"),
                ("c_echo", HANDLER_SIGNATURE),
                ("c_forbidden", HANDLER_SIGNATURE),
            ]
        );

        let init = info.init().expect("init");
        // SAFETY: `HOST` is a valid static table.
        assert_eq!(unsafe { init(&HOST) }, INIT_OK);
        assert_eq!(*LOGS.lock().unwrap(), [(3, "c plugin up".to_owned())]);

        // SAFETY: the functions stay loaded until `lib` is dropped, after their use.
        unsafe {
            let add = info
                .export("c_add")
                .unwrap()
                .get::<extern "C" fn(i32, i32) -> i32>()
                .unwrap();
            assert_eq!(add(20, 22), 42);
            let strlen = info.export("strlen").unwrap();
            assert!(strlen.get::<extern "C" fn(*const i8) -> usize>().is_err());
            let strlen = strlen
                .get::<unsafe extern "C" fn(*const u8) -> usize>()
                .unwrap();
            assert_eq!(strlen(c"four".as_ptr().cast()), 4);
        }

        let routes: Vec<_> = info.routes().collect();
        assert_eq!((routes[0].method, routes[0].path), ("GET", "/echo"));
        let request = Request::new(b"GET", b"/echo/x", b"", &[], b"");
        // SAFETY: the fixture's handlers keep the handler contract.
        let reply = unsafe { call_handler(routes[0].handler_fn(), &request) };
        assert!(reply.is_ok());
        assert_eq!((reply.status(), reply.body()), (200, &b"path=/echo/x"[..]));
        assert_eq!(reply.header(b"X-Plugin"), Some(&b"c"[..]));
        assert_eq!(
            LIVE_BLOCKS.load(Ordering::SeqCst),
            1,
            "the body is a host block"
        );
        drop(reply);
        assert_eq!(LIVE_BLOCKS.load(Ordering::SeqCst), 0, "release returned it");

        // SAFETY: as above.
        let reply = unsafe { call_handler(routes[1].handler_fn(), &request) };
        assert_eq!((reply.code(), reply.status()), (HANDLER_ERROR, 403));
        assert_eq!(reply.error_message(), Some("forbidden"));
        drop(reply);

        // SAFETY: called once, after the last call into the plugin.
        unsafe { info.fini().expect("fini")() };
    }
}
