//! The `staticdl.h` host API from a static musl C program
//! (`tests/fixtures/capi/host_api.c`): messages in the facade's wording (taken
//! from the Rust facade itself, opening the same file in this process) and
//! glibc's (from Python's `ctypes`, which is glibc's `dlopen`), remembered and
//! forgotten failures, host exports, `staticdl_info` against the file system
//! and `dladdr`, one handle for `staticdl_open` and `dlopen`, a descriptor's
//! `init` run once, and preload's list rules.

use std::path::Path;
use std::process::Command;

use crate::common;
use crate::toolchain::{musl_program, shared_object, source, stdout_of};

/// The value of the `key: value` line of `out`.
fn value<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(": ")))
        .unwrap_or_else(|| panic!("no {key:?} line in:\n{out}"))
}

/// Every value of `key` lines, in order.
fn values<'a>(out: &'a str, key: &str) -> Vec<&'a str> {
    out.lines()
        .filter_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(": ")))
        .collect()
}

/// What glibc's `dlopen(path, RTLD_NOW)` says about `path`, through ctypes.
fn glibc_dlerror(path: &Path) -> String {
    let script = "import ctypes, sys\n\
                  try:\n    ctypes.CDLL(sys.argv[1])\n    print('loaded')\n\
                  except OSError as e:\n    print(e)\n";
    stdout_of(
        "python3 ctypes",
        Command::new("python3").args(["-c", script]).arg(path),
    )
    .trim_end()
    .to_owned()
}

fn host_api() -> std::path::PathBuf {
    musl_program("host_api", &[&source("host_api.c")], &["-O2", "-Wall"])
}

#[test]
fn host_api_speaks_the_facades_words_and_shares_handles() {
    let exe = host_api();
    let hostimport = common::fixture("hostimport");
    let abi_hello = common::fixture("abi_hello");
    let out = stdout_of(
        "host_api",
        Command::new(&exe).arg(&hostimport).arg(&abi_hello),
    );
    assert_eq!(value(&out, "linked first"), "1");

    // The facade's words for the same failure, from the facade itself.
    let first = staticdl::Plugin::open(&hostimport).unwrap_err().to_string();
    let again = staticdl::Plugin::open(&hostimport).unwrap_err().to_string();
    assert!(again.ends_with(" (previous failure)"), "{again}");
    assert_eq!(value(&out, "first open"), "NULL");
    assert_eq!(
        values(&out, "staticdl_error")[..2],
        [first.as_str(), again.as_str()]
    );
    assert_eq!(value(&out, "staticdl_error again"), "(null)");
    assert_eq!(value(&out, "dlerror"), glibc_dlerror(&hostimport));
    assert_eq!(value(&out, "second open"), "NULL");
    assert_eq!(value(&out, "forgot"), "1");
    assert_eq!(value(&out, "forgot again"), "0");
    assert_eq!(value(&out, "export"), "0");
    assert_eq!(value(&out, "exported in the global scope"), "1");
    assert_eq!(value(&out, "third open"), "opened (null)");
    // hostimport_call(a, b) = host_add(a, b) * 2, host_add the host's a + b.
    assert_eq!(
        value(&out, "hostimport_call(2, 3)"),
        ((2 + 3) * 2).to_string()
    );
    assert_eq!(value(&out, "missing symbol"), "NULL");
    let missing = staticdl::Error::SymbolNotFound {
        path: hostimport.canonicalize().unwrap(),
        name: "no_such_symbol".into(),
    };
    assert_eq!(values(&out, "staticdl_error")[2], missing.to_string());

    assert_eq!(value(&out, "info"), "0");
    let canonical = hostimport.canonicalize().unwrap();
    assert_eq!(value(&out, "info path"), canonical.to_str().unwrap());
    assert_eq!(value(&out, "info name"), hostimport.to_str().unwrap());
    assert_eq!(value(&out, "info soname"), "libhostimport.so");
    assert_eq!(
        value(&out, "info start is dladdr base"),
        "1, call inside: 1"
    );
    assert_eq!(value(&out, "dlopen gives the same handle"), "1");
    // Two opens counted: the first close leaves it loaded, the second unloads.
    assert_eq!(value(&out, "close 1"), "0");
    assert_eq!(value(&out, "close 2"), "0");
    assert!(value(&out, "close 3").starts_with("-1 close: invalid handle"));

    // The descriptor's init ran once for two opens of two kinds.
    assert_eq!(value(&out, "abi plugin"), "opened, same 1, inits 1");
    assert_eq!(value(&out, "abi add(40, 2)"), "42");
    assert_eq!(value(&out, "abi closes"), "0 1");
    assert_eq!(value(&out, "null path"), "NULL staticdl_open: null path");
    assert_eq!(
        value(&out, "bad flags"),
        "NULL staticdl_open: unknown flags 0x40"
    );
}

#[test]
fn host_api_preloads_in_list_order_once_each() {
    let exe = host_api();
    let a = shared_object(
        "capi_preload_a",
        "gcc",
        &source("preload_plugin.c"),
        &["-DNAME=\"a\""],
    );
    let b = shared_object(
        "capi_preload_b",
        "gcc",
        &source("preload_plugin.c"),
        &["-DNAME=\"b\""],
    );
    let dir = a.parent().unwrap();
    let list = "./libcapi_preload_a.so:./missing.so ./libcapi_preload_b.so ./libcapi_preload_a.so";
    assert_eq!(b.parent().unwrap(), dir);
    let out = Command::new(&exe)
        .current_dir(dir)
        .arg(common::fixture("hostimport"))
        .arg(common::fixture("abi_hello"))
        .env("STATICDL_PRELOAD", list)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let inits: Vec<_> = stdout
        .lines()
        .filter(|l| l.starts_with("preload init"))
        .collect();
    assert_eq!(inits, ["preload init a", "preload init b"]);
    assert_eq!(value(&stdout, "preloaded"), "2");
    let ignored: Vec<_> = stderr.lines().filter(|l| l.contains("ignored.")).collect();
    assert_eq!(
        ignored,
        ["staticdl: object './missing.so' from STATICDL_PRELOAD cannot be preloaded (cannot open shared object file): ignored."]
    );
    assert!(value(&stdout, "preload error").contains("missing.so"));
    // main ran to the end.
    assert!(stdout.contains("abi closes: "), "{stdout}");
}

#[test]
fn host_api_preload_refuses_in_secure_mode() {
    let exe = host_api();
    let a = shared_object(
        "capi_preload_a",
        "gcc",
        &source("preload_plugin.c"),
        &["-DNAME=\"a\""],
    );
    // A setuid copy, run by an unprivileged user: the kernel sets AT_SECURE.
    let dir = crate::toolchain::work_dir("secure");
    let setuid = dir.join("host_api");
    let _ = std::fs::remove_file(&setuid);
    std::fs::copy(&exe, &setuid).unwrap();
    std::fs::set_permissions(
        &setuid,
        std::os::unix::fs::PermissionsExt::from_mode(0o4755),
    )
    .unwrap();
    let run = |runner: &[&str]| {
        let mut cmd = Command::new(runner[0]);
        cmd.args(&runner[1..])
            .arg(&setuid)
            .args(["unused", "unused", "--preload-only"])
            .env("STATICDL_PRELOAD", &a);
        let out = crate::toolchain::output(&mut cmd);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "{runner:?}: {}\n{stdout}\n{stderr}",
            out.status
        );
        (stdout, stderr)
    };
    // Not secure (the owner runs it): the object is loaded and mapped.
    let (stdout, _) = run(&["env"]);
    assert_eq!(value(&stdout, "preloaded"), "1", "{stdout}");
    assert_eq!(value(&stdout, "preload variable"), "set");
    assert_ne!(value(&stdout, "preload mappings"), "0");
    // Secure: nothing mapped, one line, the variable gone for children.
    let (stdout, stderr) = run(&["runuser", "-u", "nobody", "--"]);
    assert_eq!(value(&stdout, "preloaded"), "-1", "{stdout}\n{stderr}");
    assert_eq!(value(&stdout, "preload mappings"), "0");
    assert_eq!(value(&stdout, "preload variable"), "unset");
    assert!(!stdout.contains("preload init"), "{stdout}");
    let lines: Vec<_> = stderr
        .lines()
        .filter(|l| l.contains("STATICDL_PRELOAD"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("secure mode"), "{stderr}");
}
