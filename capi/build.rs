//! Builds the C half of `libstaticdl.a`: `src/c/check.c` always, and for musl
//! targets `src/c/dlfcn.c` (the strong `<dlfcn.h>` names) and `src/c/compat.c`
//! (what Debian 12's musl lacks), each its own archive member.
//!
//! The `<dlfcn.h>` names exist only in the archive a musl host links on
//! purpose: built for a glibc target (the workspace's own tests), they would
//! replace the test process's own `dlopen`. For musl, `musl-gcc` is used when it
//! is installed (Debian's `musl-tools`), plain `gcc` otherwise.

use std::env;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=src/c");
    println!("cargo:rerun-if-changed=build.rs");
    let musl = env::var("CARGO_CFG_TARGET_ENV").is_ok_and(|e| e == "musl");
    let mut sources = vec!["src/c/check.c"];
    if musl {
        sources.extend(["src/c/dlfcn.c", "src/c/compat.c"]);
    }
    let mut build = cc::Build::new();
    build
        .files(&sources)
        .flag("-std=gnu11")
        .flag("-fno-stack-protector")
        .warnings(true)
        .extra_warnings(true);
    if musl && env::var_os("CC").is_none() && on_path("musl-gcc") {
        build.compiler("musl-gcc");
    }
    build.compile("staticdl_capi_c");
}

fn on_path(program: &str) -> bool {
    env::var_os("PATH").is_some_and(|paths| {
        env::split_paths(&paths).any(|dir| Path::new(&dir).join(program).is_file())
    })
}
