//! Builds the C half of `staticdl::provider`: every `.c` and `.S` file in
//! `src/c`, the glibc-only entry points that need C or assembly (variadic
//! forwarding for the fortified `__*_chk` family, glibc-shaped locale objects,
//! obstack, ucontext, ...).
//!
//! The files include no C library header, so any gcc builds them for either
//! target. For the musl target `musl-gcc` is used when it is installed (Debian's
//! `musl-tools`), plain `gcc` otherwise. For musl it also describes the host
//! executable for a static host's `dl_iterate_phdr` (`STATICDL_MUSL`).

use std::env;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=src/c");
    println!("cargo:rerun-if-changed=build.rs");
    let mut sources: Vec<_> = std::fs::read_dir("src/c")
        .expect("listing src/c")
        .map(|e| e.expect("reading src/c").path())
        .filter(|p| p.extension().is_some_and(|x| x == "c" || x == "S"))
        .collect();
    sources.sort();

    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if os != "linux" || arch != "x86_64" {
        // The provider describes glibc's x86-64 ABI; elsewhere it is not built.
        return;
    }
    let target_env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();

    let mut build = cc::Build::new();
    build
        .files(&sources)
        .flag("-std=gnu11")
        .flag("-fno-stack-protector")
        .flag("-fno-builtin")
        .warnings(true)
        .extra_warnings(true);
    if target_env == "musl" && env::var_os("CC").is_none() {
        build.compiler(if on_path("musl-gcc") {
            "musl-gcc"
        } else {
            "gcc"
        });
    }
    if target_env == "musl" {
        // Cargo does not report `crt-static` to build scripts, so the helper is
        // built for every musl target; only a static one calls it.
        build.define("STATICDL_MUSL", None);
    }
    build.compile("staticdl_shims");
}

fn on_path(program: &str) -> bool {
    env::var_os("PATH").is_some_and(|paths| {
        env::split_paths(&paths).any(|dir| Path::new(&dir).join(program).is_file())
    })
}
