//! Exports the loader's debugger interface (`_dl_debug_state`, `_r_debug`) in the
//! static executable's `.dynsym`, so that gdb finds the plugins it loads even
//! after `strip`.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if env == "musl" {
        for sym in ["_dl_debug_state", "_r_debug"] {
            println!("cargo:rustc-link-arg-bins=-Wl,--export-dynamic-symbol={sym}");
        }
    }
}
