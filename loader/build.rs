//! Rebuilds the loader when the static TLS surplus size asked for at build time
//! (`STATICDL_STATIC_TLS_SIZE`, bytes; read by `runtime/static_tls.rs`) changes.

fn main() {
    println!("cargo:rerun-if-env-changed=STATICDL_STATIC_TLS_SIZE");
}
