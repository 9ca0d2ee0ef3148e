//! A cgo Go program (`tests/fixtures/capi/go/main.go`) built static with
//! `CC=musl-gcc go build -ldflags '-linkmode external -extldflags "-static"'`
//! and `libstaticdl.a`: `C.dlopen`/`C.dlsym` on a C handler plugin and on
//! Debian's `libz.so.1`, called through C trampolines, compared with the same
//! program built as an ordinary cgo program (glibc's `dlopen`); the static
//! binary has no `PT_INTERP` and no `DT_NEEDED` and runs in an empty root.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::toolchain::{
    assert_static, build_once, compile, diff, pkg_config, run_in_empty_root, shared_object, source,
    staticdl_libs, stdout_of, work_dir,
};

/// `go build` of the fixture with the tests' own caches; `musl` builds it
/// static with musl-gcc and the archive.
fn go_build(musl: bool) -> PathBuf {
    let out = work_dir("bin").join(if musl { "gohost" } else { "gohost.glibc" });
    build_once(&out, |tmp| go_build_to(musl, tmp))
}

fn go_build_to(musl: bool, out: &Path) {
    let mut cmd = Command::new("go");
    cmd.current_dir(source("go"))
        .env("GOCACHE", work_dir("go-cache"))
        .env("GOPATH", work_dir("go-path"))
        .env("GOFLAGS", "")
        .env("CGO_ENABLED", "1")
        .arg("build")
        .arg("-o")
        .arg(out);
    if musl {
        cmd.env("CC", "musl-gcc")
            .env("CGO_CFLAGS", pkg_config(&["--cflags"]).join(" "))
            .env("CGO_LDFLAGS", staticdl_libs().join(" "))
            .args(["-ldflags", "-linkmode external -extldflags \"-static\""]);
    }
    cmd.arg("main.go");
    compile(&format!("the Go host (musl: {musl})"), &mut cmd);
}

fn run(exe: &Path, plugin: &Path) -> String {
    stdout_of(
        "the Go host",
        Command::new(exe)
            .arg0("./gohost")
            .arg(plugin)
            .args(["one", "two words"]),
    )
}

#[test]
fn go_host_loads_a_c_plugin_and_libz_like_glibc() {
    let plugin = shared_object("capi_go_handler", "gcc", &source("go_handler.c"), &[]);
    let reference = go_build(false);
    let host = go_build(true);
    assert_static(&host, false);
    let expected = run(&reference, &plugin);
    let got = run(&host, &plugin);
    assert!(
        expected.contains("4 requests") && expected.contains("equal true"),
        "the glibc reference run did not do what the test is about:\n{expected}"
    );
    assert_eq!(
        expected,
        got,
        "differs from glibc:\n{}",
        diff(&expected, &got)
    );

    // Alone in an empty root: the program, the plugin and libz. The glibc
    // reference ran the plugin from its build directory; only that path
    // differs.
    let libz = Path::new("/lib/x86_64-linux-gnu/libz.so.1");
    let out = run_in_empty_root(
        "gohost",
        &[
            (&host, "/gohost"),
            (&plugin, "/plugins/libcapi_go_handler.so"),
            (libz, "/lib/x86_64-linux-gnu/libz.so.1"),
        ],
        "/gohost",
        &["/plugins/libcapi_go_handler.so"],
    );
    let rooted = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "failed in the empty root ({}):\n{rooted}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let expected_rooted = stdout_of(
        "the Go host under glibc",
        Command::new(&reference).arg0("/gohost").arg(&plugin),
    )
    .replace(plugin.to_str().unwrap(), "/plugins/libcapi_go_handler.so");
    assert_eq!(
        expected_rooted,
        rooted,
        "differs from glibc:\n{}",
        diff(&expected_rooted, &rooted)
    );
}
