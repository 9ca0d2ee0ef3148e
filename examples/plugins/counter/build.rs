//! Link the cdylib without the C runtime start files (`crti.o`, `crtbeginS.o`,
//! `crtn.o`): they would bring weak references to libc (`__cxa_finalize`,
//! `__gmon_start__`) and `DT_INIT`/`DT_FINI` stubs that a libc-free plugin does
//! not want. What the plugin imports is then only what its code uses
//! (`memcpy`, `memset`, ...), which the server provides.
fn main() {
    println!("cargo:rustc-link-arg-cdylib=-nostartfiles");
    println!("cargo:rerun-if-changed=build.rs");
}
