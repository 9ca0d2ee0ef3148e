//! Host exports: the symbols a C host offers plugins with
//! `staticdl_export_symbol(name, addr)`.
//!
//! Owns the process-wide table of exported names and the [`SymbolSource`] over
//! it that every open of the archive passes to the loader, so an export applies
//! to every object loaded after the call (by `staticdl_open`, `dlopen` or
//! preload), and `dlsym(RTLD_DEFAULT, name)` finds it. A name exported again
//! gets its new address for later loads; objects already bound keep theirs.
//! Does not own where in the scope the source is asked (`open.rs`).

use std::collections::HashMap;
use std::sync::RwLock;

use staticdl_loader::SymbolSource;

static EXPORTS: RwLock<Option<HashMap<Vec<u8>, usize>>> = RwLock::new(None);

/// Offers `name` (any version) at `addr` to objects loaded from now on.
pub(crate) fn export(name: &[u8], addr: usize) {
    let mut table = EXPORTS.write().unwrap_or_else(|e| e.into_inner());
    table
        .get_or_insert_with(HashMap::new)
        .insert(name.to_vec(), addr);
}

/// The address exported as `name`, if any.
pub(crate) fn lookup(name: &[u8]) -> Option<usize> {
    let table = EXPORTS.read().unwrap_or_else(|e| e.into_inner());
    table.as_ref()?.get(name).copied()
}

/// The host's exports as a symbol source (every version of a name answers with
/// its one address, as `-rdynamic` symbols without versions do under glibc).
pub(crate) struct Exports;

impl SymbolSource for Exports {
    fn lookup(&self, name: &[u8], _version: Option<&[u8]>) -> Option<usize> {
        lookup(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_answer_every_version_and_can_move() {
        assert_eq!(lookup(b"exports_test_fn"), None);
        export(b"exports_test_fn", 0x1000);
        assert_eq!(
            Exports.lookup(b"exports_test_fn", Some(b"V1")),
            Some(0x1000)
        );
        export(b"exports_test_fn", 0x2000);
        assert_eq!(lookup(b"exports_test_fn"), Some(0x2000));
        assert_eq!(Exports.lookup(b"exports_test_other", None), None);
    }
}
