//! What only a dynamic linker defines, answered for every object.
//!
//! Under glibc, `ld.so` is always in the global scope, so an object may import
//! `__tls_get_addr` (general-dynamic TLS), `_dl_debug_state` or `_r_debug`
//! without naming any library in `DT_NEEDED`. Owns [`RTLD`], the symbol source
//! every load's scope ends with, which answers those names with the loader's own
//! runtime, whatever providers the host configured (none included). It does not
//! answer anything a C library defines; a provider does that.

use std::sync::{Arc, LazyLock};

use crate::options::SymbolSource;

/// The loader's own ABI symbols, last in every scope.
pub(crate) static RTLD: LazyLock<Arc<dyn SymbolSource>> =
    LazyLock::new(|| Arc::new(lookup as fn(&[u8], Option<&[u8]>) -> Option<usize>));

/// The address of `name` if it is one of the dynamic linker's own symbols (at
/// the version glibc's `ld.so` defines it, or unversioned).
pub(crate) fn lookup(name: &[u8], version: Option<&[u8]>) -> Option<usize> {
    let (addr, defined_at): (usize, &[u8]) = match name {
        b"__tls_get_addr" => (super::tls::tls_get_addr_address(), b"GLIBC_2.3"),
        b"_dl_debug_state" => (super::debug::state_address(), b"GLIBC_PRIVATE"),
        b"_r_debug" => (super::debug::r_debug_address(), b"GLIBC_2.2.5"),
        _ => return None,
    };
    match version {
        None => Some(addr),
        Some(v) if v == defined_at => Some(addr),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_the_loader_runtime_at_glibc_versions() {
        assert_eq!(
            lookup(b"__tls_get_addr", Some(b"GLIBC_2.3")),
            Some(super::super::tls::tls_get_addr_address())
        );
        assert!(lookup(b"__tls_get_addr", None).is_some());
        assert!(lookup(b"__tls_get_addr", Some(b"GLIBC_2.99")).is_none());
        assert!(lookup(b"_r_debug", None).is_some());
        assert!(lookup(b"malloc", None).is_none());
    }
}
