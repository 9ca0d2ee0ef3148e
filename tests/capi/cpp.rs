//! A static musl C++ host (`tests/fixtures/capi/cpp_host.cpp`) loading an
//! ordinary g++-built plugin that needs `libstdc++.so.6` from disk, through
//! plain `<dlfcn.h>`: exceptions thrown and caught inside the plugin, a line
//! built with iostreams, and the host's own exceptions and `std::string`
//! before and after, compared with the same program built by g++ for glibc.
//!
//! The static host is Debian's g++ with musl's specs, libstdc++'s own headers
//! and archive (built for glibc: `cxx_musl.h` and `cxx_musl.c` supply the few
//! glibc names they use), and the archive's libraries.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::toolchain::{
    assert_static, build_once, compile, diff, glibc_program, musl_command, pkg_config,
    shared_object, source, staticdl_libs, stdout_of, work_dir, Link,
};

/// g++'s major version, which names libstdc++'s header directories.
fn gxx_version() -> String {
    stdout_of("g++ -dumpversion", Command::new("g++").arg("-dumpversion"))
        .trim()
        .to_owned()
}

/// The static musl C++ host.
fn static_cpp_host() -> PathBuf {
    let musl_libdir = pkg_config(&["--variable=musl_libdir"]).remove(0);
    let specs = format!("{musl_libdir}/musl-gcc.specs");
    let v = gxx_version();
    let bin = work_dir("bin");
    let support = build_once(&bin.join("cxx_musl.o"), |tmp| {
        compile(
            "cxx_musl.o",
            Command::new("musl-gcc")
                .args(["-O2", "-c"])
                .arg(source("cxx_musl.c"))
                .arg("-o")
                .arg(tmp),
        )
    });
    let include = format!("-include{}", source("cxx_musl.h").display());
    let front = [
        "-specs",
        &specs,
        "-isystem",
        &format!("/usr/include/c++/{v}"),
        "-isystem",
        &format!("/usr/include/x86_64-linux-gnu/c++/{v}"),
        &include,
        "-O2",
    ]
    .map(str::to_owned);
    let front: Vec<&str> = front.iter().map(String::as_str).collect();
    let host_source = source("cpp_host.cpp");
    let sources: [&Path; 2] = [&host_source, &support];
    build_once(&bin.join("cpp_host"), |tmp| {
        compile(
            "cpp_host",
            &mut musl_command(
                &["g++"],
                Link::Static,
                &front,
                &sources,
                &staticdl_libs(),
                tmp,
            ),
        )
    })
}

#[test]
fn cpp_host_loads_a_libstdcxx_plugin_and_keeps_its_own_exceptions() {
    let plugin = shared_object("capi_cpp", "g++", &source("cpp_plugin.cpp"), &[]);
    let needed = crate::toolchain::readelf("-d", &plugin);
    assert!(needed.contains("[libstdc++.so.6]"), "{needed}");
    let reference = glibc_program("cpp_host", "g++", &[&source("cpp_host.cpp")], &[]);
    let host = static_cpp_host();
    assert_static(&host, false);
    let expected = stdout_of(
        "cpp_host under glibc",
        Command::new(&reference).arg(&plugin),
    );
    let got = stdout_of("static cpp_host", Command::new(&host).arg(&plugin));
    assert!(
        expected.contains("caught [deep failure] code 7") && expected.contains("host int: 42"),
        "the glibc reference run did not do what the test is about:\n{expected}"
    );
    assert_eq!(
        expected,
        got,
        "differs from glibc:\n{}",
        diff(&expected, &got)
    );
}
