//! Ordinary plugins in a static musl host: `tests/fixtures/provider_host` is built
//! for `x86_64-unknown-linux-musl` (no `PT_INTERP`, no `DT_NEEDED`) and loads
//! plugins built against glibc (a Rust `cdylib` with std, gcc and g++ objects,
//! Debian's own zlib and lz4) through `staticdl::provider`. Each scenario runs in
//! its own process; its report is compared line by line.
//!
//! The last test runs in this (dynamically linked glibc) test process itself:
//! there the provider answers `libc.so.6` with the process's own glibc.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};

use staticdl::provider;

/// Runs the host in `mode` and returns its output, after checking that the host
/// really is a static executable with no loader of its own.
fn run_host(mode: &str) -> Output {
    let host = common::provider_host();
    assert!(
        !common::readelf("-l", &host).contains("INTERP"),
        "provider host has PT_INTERP"
    );
    assert!(
        !common::readelf("-d", &host).contains("(NEEDED)"),
        "provider host has DT_NEEDED"
    );
    Command::new(&host)
        .arg(mode)
        .arg(common::fixture_dir())
        .env("STATICDL_PROVIDER_TEST", "1")
        // Panics caught inside the plugins would print (and symbolise) a backtrace.
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap()
}

/// Runs `mode`, requires success, and returns standard output's lines.
fn report(mode: &str) -> Vec<String> {
    let out = run_host(mode);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "provider host {mode} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    eprintln!("{stderr}");
    stdout.lines().map(str::to_owned).collect()
}

#[test]
fn rust_std_plugin_from_four_threads() {
    common::rust_std_fixture();
    let lines = report("rust-std");
    let expected = [
        "rs_format=n=5 squares=[1, 4, 9, 16, 25] text=ababababab",
        "rs_heap_format=4/4",
        "rs_threads_mutex=4/4",
        "rs_read_file=4/4",
        "rs_catch_panic=4/4",
        "rs_backtrace_names_plugin=4/4",
        // 4 host threads x 3 plugin threads, each with a thread_local! destructor.
        "rs_tls_dtors=12",
        // argc from the initialiser's (argc, argv, envp); getauxval; getenv.
        "rs_context=args:3 page:4096 env:1",
        "rs_args_expected=3",
        "done",
    ];
    assert_eq!(lines, expected);
}

#[test]
fn zlib_and_lz4_round_trip_without_glibc() {
    let lines = report("zlib-lz4");
    let expected = [
        "zlib_roundtrip=1048576 equal=true",
        // gzprintf formats through __vsnprintf_chk; the file through open/lseek64.
        "zlib_gzprintf=gzprintf 42 002.5",
        "lz4_roundtrip=1048576 equal=true",
        "libz_mapped=true",
        // Neither the system's libc.so.6 nor ld-linux-x86-64.so.2 was mapped.
        "glibc_mapped=0",
        "unmapped=true",
        "done",
    ];
    assert_eq!(lines, expected);
}

#[test]
fn c_tls_plugin_from_several_threads() {
    common::glibc_fixture("tls_threads");
    let lines = report("tls-threads");
    let expected = [
        "tls_host_threads=4/4",
        "tls_plugin_threads=8/8",
        "tls_main=100",
        "done",
    ];
    assert_eq!(lines, expected);
}

#[test]
fn cpp_plugin_throws_and_catches() {
    let lib = common::cpp_fixture("throw");
    // What the object needs from the provider: no libstdc++, no libgcc_s.
    let dynamic = common::readelf("-d", &lib);
    assert!(!dynamic.contains("libstdc++"), "{dynamic}");
    assert!(!dynamic.contains("libgcc_s"), "{dynamic}");
    let imports = common::readelf("--dyn-syms", &lib);
    for needed in [
        "_dl_find_object",
        "__cxa_thread_atexit_impl",
        "__libc_single_threaded",
    ] {
        assert!(
            imports.contains(needed),
            "{needed} not imported:\n{imports}"
        );
    }
    let lines = report("cpp");
    let expected = [
        // code 42 + "deep error 0".len()
        "cpp_throw_catch=54",
        "cpp_throw_catch_threads=54x400",
        // 4 threads caught their exception, 4 thread_local destructors ran
        "cpp_threads=404",
        "cpp_hypot=5",
        // the static object's destructor, through __cxa_atexit/__cxa_finalize
        "cpp_static_dtor=[1006]",
        "cpp_unmapped=true",
        "done",
    ];
    assert_eq!(lines, expected);
}

/// Plugin thread-local destructors and the unload: after a host thread that
/// used the plugin exits, dropping the last handle unmaps the plugin; and a
/// `thread_local!` destructor registered by a plugin thread that is still
/// running when the host drops its last handle keeps the object mapped until
/// it ran at that thread's exit, then the object goes.
///
/// Known failure (loader runtime): the loader runs plugin thread-local
/// destructors, drops their keep-alive handles and frees TLS blocks from one
/// host `thread_local!` destructor, which runs inside musl's
/// `__pthread_tsd_run_dtors` at the host std's pthread key. The plugin's own
/// std registered a pthread key of its own (`guard::key::enable`, for
/// `rt::thread_cleanup`) later, so with a higher index: musl calls its
/// destructor after the object was unmapped, and the thread dies with SIGSEGV
/// in `__pthread_tsd_run_dtors` calling into the unmapped plugin. Deferring
/// the release of keep-alive handles and TLS blocks to the last destructor round
/// (a pthread key of the loader's own that re-arms itself) makes it pass.
#[test]
fn thread_local_destructor_defers_the_unmap() {
    common::rust_std_fixture();
    let lines = report("linger");
    let expected = [
        "unmapped_after_host_thread_exit=true",
        "linger_thread_started=true",
        "mapped_after_unload=true",
        "dtor_ran_before_release=0",
        "dtor_ran=1",
        "dtor_saw_mapped=1",
        "mapped_after_thread_exit=false",
        "host_still_fine=42",
        "done",
    ];
    assert_eq!(lines, expected);
}

#[test]
fn host_behaviour_is_unchanged() {
    common::rust_std_fixture();
    let lines = report("host-unchanged");
    let host = |tag: &str, adds: u32, subs: u32, objects: u32| {
        format!(
            "{tag}: panic=\"host panic 7\" tls_dtor=1 backtrace_names_host=true \
             phdr=musl adds:{adds} subs:{subs} objects:{objects}"
        )
    };
    let expected = [
        // Before any load, dl_iterate_phdr reports exactly what musl's would.
        host("before", 0, 0, 1),
        "plugin: catch_panic=1 backtrace_names_plugin=true".to_string(),
        host("loaded", 1, 0, 2),
        host("unloaded", 1, 1, 1),
        "done".to_string(),
    ];
    assert_eq!(lines, expected);
}

/// A printf extension, argp, the old condition-variable ABI (a version the
/// provider refuses) and a `GLIBC_PRIVATE` import: the load fails in the
/// child process naming all four, and leaves nothing loaded.
#[test]
fn unprovidable_imports_fail_naming_every_symbol() {
    let lib = common::glibc_fixture("glibc_only");
    let imports = common::readelf("--dyn-syms", &lib);
    assert!(
        imports.contains("pthread_cond_wait@GLIBC_2.2.5"),
        "{imports}"
    );
    assert!(imports.contains("__res_iclose@GLIBC_PRIVATE"), "{imports}");
    let lines = report("unprovidable");
    let expected = [
        format!(
            "unprovidable={}: undefined symbols register_printf_specifier@GLIBC_2.10, \
             __res_iclose@GLIBC_PRIVATE, pthread_cond_wait@GLIBC_2.2.5, argp_parse@GLIBC_2.2.5",
            lib.display()
        ),
        "loaded_after_failure=0".to_string(),
        "done".to_string(),
    ];
    assert_eq!(lines, expected);
}

#[test]
fn glibc_shims_behave_as_glibc() {
    common::glibc_fixture("glibc_abi");
    let lines = report("glibc-abi");
    let expected = [
        "snprintf_chk=9 42 answer",
        "gnu_strerror_r=No such file or directory",
        "gnu_basename=\"\"",
        "xpg_basename=\"lib\"",
        "old_xstat_size_matches=true",
        "old_memcpy_overlap=1",
        "longjmp_chk=7",
        "fdelt_chk=1",
        "arc4random=1",
        "program_invocation_short_name=provider_host",
        "environ=1",
        // printed by the plugin through the host's stdout (__printf_chk)
        "glibc_abi printf 5",
        "printf_chk=19",
        "done",
    ];
    assert_eq!(lines, expected);
}

#[test]
fn fortified_calls_check_and_abort_like_glibc() {
    common::glibc_fixture("glibc_abi");
    for (mode, message) in [
        (
            "crash-memcpy",
            "*** buffer overflow detected ***: terminated\n",
        ),
        (
            "crash-stack",
            "*** stack smashing detected ***: terminated\n",
        ),
        (
            "crash-longjmp",
            "*** longjmp causes uninitialized stack frame ***: terminated\n",
        ),
    ] {
        let out = run_host(mode);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stdout, "about to crash\n", "{mode}");
        assert_eq!(stderr, message, "{mode}");
        assert_eq!(out.status.signal(), Some(6), "{mode}: {}", out.status);
    }
}

#[test]
fn glibc_host_answers_libc_with_its_own() {
    fn libc_mappings() -> usize {
        std::fs::read_to_string("/proc/self/maps")
            .unwrap()
            .lines()
            .filter(|l| l.contains("libc.so.6"))
            .count()
    }
    let before = libc_mappings();
    let ns = staticdl::loader::Namespace::new();
    let z = ns
        .load("/lib/x86_64-linux-gnu/libz.so.1", &provider::load_options())
        .unwrap();
    assert_eq!(libc_mappings(), before, "a second glibc was mapped");
    let bound = z.symbol("compressBound").unwrap();
    let compress2 = z.symbol("compress2").unwrap();
    let uncompress = z.symbol("uncompress").unwrap();
    // SAFETY: zlib's documented signatures.
    let (bound, compress2, uncompress) = unsafe {
        (
            std::mem::transmute::<*mut std::ffi::c_void, extern "C" fn(u64) -> u64>(bound.as_ptr()),
            std::mem::transmute::<
                *mut std::ffi::c_void,
                unsafe extern "C" fn(*mut u8, *mut u64, *const u8, u64, i32) -> i32,
            >(compress2.as_ptr()),
            std::mem::transmute::<
                *mut std::ffi::c_void,
                unsafe extern "C" fn(*mut u8, *mut u64, *const u8, u64) -> i32,
            >(uncompress.as_ptr()),
        )
    };
    let data: Vec<u8> = (0..200_000u32)
        .flat_map(|i| (i % 251).to_le_bytes())
        .collect();
    let mut packed = vec![0u8; bound(data.len() as u64) as usize];
    let mut packed_len = packed.len() as u64;
    let mut back = vec![0u8; data.len()];
    let mut back_len = back.len() as u64;
    // SAFETY: buffers and lengths as zlib documents them.
    unsafe {
        assert_eq!(
            compress2(
                packed.as_mut_ptr(),
                &mut packed_len,
                data.as_ptr(),
                data.len() as u64,
                6
            ),
            0
        );
        assert_eq!(
            uncompress(
                back.as_mut_ptr(),
                &mut back_len,
                packed.as_ptr(),
                packed_len
            ),
            0
        );
    }
    assert_eq!(back, data);
}

// ---- the same objects run by glibc and in the static host ----

/// Runs `probe(out, cap)` of `lib` natively under glibc (Python's ctypes, a
/// glibc program), returning what it printed and then what it wrote.
fn native_probe(lib: &std::path::Path) -> String {
    let script = "import ctypes, sys\n\
                  lib = ctypes.CDLL(sys.argv[1])\n\
                  buf = ctypes.create_string_buffer(1 << 16)\n\
                  n = lib.probe(buf, len(buf))\n\
                  assert 0 <= n < len(buf), n\n\
                  sys.stdout.write(buf.raw[:n].decode())\n";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(lib)
        .env_remove("LANG")
        .env_remove("LC_ALL")
        .output()
        .expect("running python3");
    assert!(
        out.status.success(),
        "native run of {} failed ({}):\n{}",
        lib.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The same call in the static musl host, without the host's closing `done`.
fn host_probe(lib: &std::path::Path) -> String {
    let host = common::provider_host();
    let out = Command::new(&host)
        .arg("probe")
        .arg(lib)
        .env_remove("LANG")
        .env_remove("LC_ALL")
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "provider host probe {} failed ({}):\n{stdout}\n{}",
        lib.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .strip_suffix("done\n")
        .unwrap_or_else(|| panic!("no closing line:\n{stdout}"))
        .to_owned()
}

/// Asserts that `lib` reports the same under glibc and in the static host,
/// line by line, and returns the lines.
fn same_as_glibc(lib: &std::path::Path) -> Vec<String> {
    let native = native_probe(lib);
    let hosted = host_probe(lib);
    let (n, h): (Vec<&str>, Vec<&str>) = (native.lines().collect(), hosted.lines().collect());
    for (a, b) in n.iter().zip(&h) {
        assert_eq!(
            b,
            a,
            "{}: static host (left) and glibc (right) differ",
            lib.display()
        );
    }
    assert_eq!(
        h.len(),
        n.len(),
        "{}:\nglibc:\n{native}\nhost:\n{hosted}",
        lib.display()
    );
    assert!(!n.is_empty());
    n.iter().map(|l| l.to_string()).collect()
}

/// The line of `lines` that starts with `key `.
fn line<'a>(lines: &'a [String], key: &str) -> &'a str {
    lines
        .iter()
        .find(|l| l.starts_with(&format!("{key} ")))
        .unwrap_or_else(|| panic!("no {key} line in {lines:?}"))
}

/// Python's answer to `expr` (standard library only).
fn python(expr: &str) -> String {
    let out = Command::new("python3")
        .args(["-c", &format!("import hashlib, hmac, math\nprint({expr})")])
        .output()
        .expect("running python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn cpp_plugin_with_libstdcxx_from_disk() {
    let lib = common::cpp_disk_fixture("iostreams");
    let dynamic = common::readelf("-d", &lib);
    for needed in ["libstdc++.so.6", "libgcc_s.so.1", "libm.so.6", "libc.so.6"] {
        assert!(
            dynamic.contains(&format!("[{needed}]")),
            "{needed}:\n{dynamic}"
        );
    }
    let lines = same_as_glibc(&lib);
    // A few values checked against what C++ must print, not only glibc's run.
    assert_eq!(
        line(&lines, "read"),
        "read 3.25 -1000 42 word 31 0.0025 good=1"
    );
    assert_eq!(
        line(&lines, "threads"),
        "threads results=10,20,30,40 dtors=4"
    );
    assert!(line(&lines, "cout").starts_with("cout 0.333333 0.667 1e+21"));
}

#[test]
fn cpp_plugin_with_static_libstdcxx() {
    let lib = common::cpp_static_fixture("iostreams");
    let dynamic = common::readelf("-d", &lib);
    assert!(!dynamic.contains("libstdc++"), "{dynamic}");
    let lines = same_as_glibc(&lib);
    assert_eq!(line(&lines, "exceptions"), "exceptions caught=106 cbrt=2.5");
}

#[test]
fn glibc_stdio_macros_work_on_the_hosts_file() {
    let lib = common::glibc_fixture("glibc_stdio");
    let imports = common::readelf("--dyn-syms", &lib);
    assert!(
        imports.contains("__uflow") && imports.contains("__overflow"),
        "{imports}"
    );
    let lines = same_as_glibc(&lib);
    // 5000 letters, a newline, "second line\n" and "!": counted independently.
    let letters: u64 = (0..5000u64).map(|i| u64::from(b'a') + i % 26).sum();
    let sum = letters + u64::from(b'\n') + "second line\n!".bytes().map(u64::from).sum::<u64>();
    assert!(
        lines[0].starts_with(&format!("written=5014 count=5014 sum={sum} eof=1 err=0")),
        "{lines:?}"
    );
}

#[test]
fn ucontext_switches_stacks_like_glibc() {
    let lib = common::glibc_fixture("glibc_context");
    let lines = same_as_glibc(&lib);
    assert!(lines[0].starts_with("swap=0,0 steps=2 first=87654321 returned=-87654321"));
}

#[test]
fn glibc_locale_regex_and_obstack_abis() {
    let lib = common::glibc_fixture("glibc_locale");
    let lines = same_as_glibc(&lib);
    assert_eq!(
        line(&lines, "regex_offsets"),
        "regex_offsets 3,10 3,6 7,10 -1"
    );
}

#[test]
fn debian_libraries_work_in_a_static_host() {
    let lib = common::glibc_fixture("glibc_debian");
    let lines = same_as_glibc(&lib);
    let quick = "b'The quick brown fox jumps over the lazy dog'";
    let sha = python(&format!("hashlib.sha256({quick}).hexdigest()"));
    let mac = python(&format!("hmac.new(b'key', {quick}, 'sha256').hexdigest()"));
    // The job adds 3, then 30, and returns twice the sum: paused twice, then done.
    assert_eq!(
        line(&lines, "openssl"),
        format!("openssl sha256={sha} hmac={mac} async=1 states=2,2,3 ret=66")
    );
    let fact = python("math.factorial(200)");
    assert_eq!(
        line(&lines, "gmp"),
        format!("gmp factorial200={fact} obstack_len={} same=1", fact.len())
    );
    assert!(line(&lines, "lua").starts_with("lua rc=0 result=42 31 630 false boom false 7 false"));
    assert!(line(&lines, "libcap").starts_with("libcap name12=cap_net_admin sys_admin=21"));
    assert!(line(&lines, "glib").contains("lookup=144 missing=1"));
}

#[test]
fn fts_walks_trees_like_glibc() {
    let lib = common::glibc_fixture("glibc_fts");
    let lines = same_as_glibc(&lib);
    assert_eq!(line(&lines, "missing"), "missing info=10 errno=2");
    assert!(line(&lines, "physical").ends_with(" 0:6:. end=0"));
}

#[test]
fn glibc_only_calls_written_by_the_provider_match_glibc() {
    let lib = common::glibc_fixture("glibc_misc");
    let lines = same_as_glibc(&lib);
    // glibc's generator for TYPE_0 state: 1103515245 * 12345 + 12345, 31 bits.
    let first = (1_103_515_245u64 * 12345 + 12345) & 0x7fff_ffff;
    assert!(line(&lines, "random[8]").starts_with(&format!("random[8] rc=0 {first} ")));
    assert!(line(&lines, "error").starts_with("error count=5 text=probe: plain 1|"));
}

#[test]
fn thread_attribute_affinity_like_glibc() {
    let lib = common::glibc_fixture("glibc_affinity");
    let lines = same_as_glibc(&lib);
    // The thread ran on CPU 0 alone; a set naming no CPU of the machine made
    // pthread_create fail with EINVAL.
    assert_eq!(
        line(&lines, "affinity"),
        "affinity default=0,1024 set=0 get=0,1,1 thread=0,1:0 missing_cpu=22"
    );
}
