//! `libstaticdl.a` in C, C++, Go and Lua hosts: the archive installed by
//! `capi/install.sh`, linked the way the README's "From C and Go" says, and
//! each program compared with the same source run under glibc's own loader.
//!
//! - `c_host_round_trips_zlib_like_glibc`: an unchanged `<dlfcn.h>` program,
//!   static-pie with musl-gcc: Debian's libz by bare name, 1 MiB through
//!   `compress`/`uncompress`, `dlerror` after failures, `dladdr`, `dlvsym`,
//!   an initialiser's `argc`/`argv`/`envp`, `RTLD_LAZY` with a missing
//!   function; the same lines as glibc's;
//! - `c_host_works_in_an_empty_root`: that program alone with `libz.so.1` in
//!   an empty root;
//! - `host_api_*`: `staticdl_open`, `staticdl_error`, `staticdl_info`,
//!   `staticdl_export_symbol`, `staticdl_preload`;
//! - `cpp_host_*`, `go_host_*`, `lua_*` (modules of their own) and the link
//!   matrix (`link.rs`).

#[path = "../common/mod.rs"]
mod common;
mod cpp;
mod go;
mod host_api;
mod link;
mod lua;
mod toolchain;

use std::process::Command;

use std::os::unix::process::CommandExt as _;
use toolchain::{assert_static, diff, musl_program, shared_object, source, stdout_of};

/// The `<dlfcn.h>` program, built for glibc and for staticdl.
struct ZlibHost {
    glibc: std::path::PathBuf,
    staticdl: std::path::PathBuf,
}

fn zlib_host() -> ZlibHost {
    let src = source("zlib_host.c");
    ZlibHost {
        glibc: toolchain::glibc_program("zlib_host", "gcc", &[&src], &[]),
        staticdl: musl_program("zlib_host", &[&src], &["-O2", "-DWITH_STATICDL"]),
    }
}

#[test]
fn c_host_round_trips_zlib_like_glibc() {
    let host = zlib_host();
    assert_static(&host.staticdl, true);
    let args_plugin = shared_object("capi_args", "gcc", &source("args_plugin.c"), &[]);
    let plugin = args_plugin.to_str().unwrap();
    // Needs host_add, which nothing here defines.
    let lazy = common::fixture("hostimport");
    let lazy = lazy.to_str().unwrap();
    let run = |exe: &std::path::Path| {
        stdout_of(
            "zlib_host",
            Command::new(exe)
                .arg0("./zlib_host")
                .args([plugin, lazy, "third arg"])
                .env_clear()
                .env("CAPI_TEST", "first"),
        )
    };
    let expected = run(&host.glibc);
    let got = run(&host.staticdl);
    assert!(
        expected.contains("equal 1")
            && expected.contains("fname /lib/x86_64-linux-gnu/libz.so.1")
            && expected.contains("RTLD_LAZY with a missing function: opened"),
        "the glibc reference run did not do what the test is about:\n{expected}"
    );
    assert_eq!(
        expected,
        got,
        "differs from glibc:\n{}",
        diff(&expected, &got)
    );
    // The initialiser saw exactly what main saw (both lines are the program's).
    let seen = |prefix: &str| {
        got.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} line in:\n{got}"))
            .to_owned()
    };
    assert_eq!(seen("initialiser saw: "), seen("main saw: "));
    assert!(got.contains("initialiser envp is main's environ: 1"));
}

#[test]
fn c_host_works_in_an_empty_root() {
    let host = zlib_host();
    let libz = std::path::Path::new("/lib/x86_64-linux-gnu/libz.so.1");
    let expected = stdout_of(
        "zlib_host under glibc",
        Command::new(&host.glibc).arg0("/zlib_host").env_clear(),
    );
    let out = toolchain::run_in_empty_root(
        "zlib_host",
        &[
            (&host.staticdl, "/zlib_host"),
            (libz, "/lib/x86_64-linux-gnu/libz.so.1"),
        ],
        "/zlib_host",
        &[],
    );
    let got = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "failed in the empty root ({}):\n{got}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        expected,
        got,
        "differs from glibc:\n{}",
        diff(&expected, &got)
    );
}

#[test]
fn host_and_plugin_headers_share_a_translation_unit() {
    // Both files are named staticdl.h: the host one comes first on the
    // include path, the plugin one is found next to nothing but its own
    // directory, given by -iquote.
    let mut cmd = Command::new("musl-gcc");
    cmd.args(["-fsyntax-only", "-Wall", "-Werror"])
        .arg(format!("-iquote{}", toolchain::abi_include().display()))
        .args(toolchain::pkg_config(&["--cflags"]))
        .arg(source("both_headers.c"));
    toolchain::compile("both_headers.c", &mut cmd);
    // Each header was really included: the guards of both are defined.
    let mut probe = Command::new("musl-gcc");
    probe
        .args(["-E", "-dM"])
        .arg(format!("-iquote{}", toolchain::abi_include().display()))
        .args(toolchain::pkg_config(&["--cflags"]))
        .arg(source("both_headers.c"));
    let macros = stdout_of("musl-gcc -E -dM", &mut probe);
    assert!(
        macros.contains("#define STATICDL_H"),
        "the plugin header was not included"
    );
    assert!(
        macros.contains("#define STATICDL_HOST_H"),
        "the host header was not included"
    );
}
