//! Export traps: the addresses lookups hand out for an intercepted export.
//!
//! Owns [`trap_exports`] (make the export sites of one loaded object for the
//! requests that select its exports: by name pattern, or by the signature its
//! descriptor declares), [`exported`] (what `Plugin::get`, `Plugin::symbol` and
//! `Plugin::symbol_address` hand out for an address of a plugin) and
//! [`exported_anywhere`] (the same for plugins' `dlsym`, which the libc
//! provider asks through the filter installed here). An export site is owned
//! by the object that defines it, and only that object's lookups are
//! answered with its stub. It does not make import sites (`bind.rs`) or rewrite
//! the bindings of objects already loaded (`attach.rs`).

use staticdl_loader::{Library, SymbolName};

use super::meta::TrapKind;
use super::request::Request;
use super::select::{Exports, Selection};
use super::site::{self, Key, Link, Owner};

/// The functions of `lib` that `selection` picks: `(name, address)`.
pub(crate) fn selected(lib: &Library, selection: &Exports) -> Vec<(String, usize)> {
    if selection
        .objects
        .as_ref()
        .is_some_and(|o| !o.matches_object(lib.path()))
    {
        return Vec::new();
    }
    match &selection.signature {
        Some(signature) => {
            let Ok(Some(d)) = crate::Descriptor::from_library(lib) else {
                return Vec::new();
            };
            d.exports()
                .iter()
                .filter(|e| {
                    e.signature() == signature && selection.symbols.matches(e.name().as_bytes())
                })
                .map(|e| (e.name().to_owned(), e.addr()))
                .collect()
        }
        None => lib
            .exports()
            .into_iter()
            .filter(|n| selection.symbols.matches(n.as_bytes()))
            .filter_map(|n| {
                let addr = lib.lookup_here(&SymbolName::new(&n))?.as_ptr() as usize;
                Some((n, addr))
            })
            .collect(),
    }
}

/// Makes the export sites of `lib` that `requests` select (their interceptors
/// linked); returns the sites' `(key, stub)`.
pub(crate) fn trap_exports(lib: &Library, requests: &[Request]) -> Vec<(Key, usize)> {
    let start = lib.address_range().0;
    let mut made = Vec::new();
    for r in requests {
        let Selection::Exports(e) = &r.selection else {
            continue;
        };
        for (name, addr) in selected(lib, e) {
            let key = Key {
                kind: TrapKind::Export,
                object: lib.path().to_path_buf(),
                symbol: name.into_bytes(),
                version: None,
                target: addr,
            };
            let links: [Link; 1] = [r.link()];
            if let Some((_, stub)) = site::link(key.clone(), Owner::Mapped(start), &links) {
                made.push((key, stub));
            }
        }
    }
    if !made.is_empty() {
        install_dlsym_filter();
    }
    made
}

/// After `lib` was loaded for an open with `per_open` requests: its exports
/// selected by those and by the process-wide registrations are trapped.
pub(crate) fn loaded(lib: &Library, per_open: &[Request]) {
    let globals = super::global::snapshot();
    let requests: Vec<Request> = per_open
        .iter()
        .chain(globals.iter())
        .filter(|r| matches!(r.selection, Selection::Exports(_)))
        .cloned()
        .collect();
    if !requests.is_empty() {
        trap_exports(lib, &requests);
    }
}

/// What a lookup in `lib` hands out for `addr`: the stub of its export site if
/// it has one, else `addr`.
pub(crate) fn exported(lib: &Library, addr: usize) -> usize {
    match site::export_stub(addr) {
        Some((stub, Owner::Mapped(start))) if start == lib.address_range().0 => stub,
        _ => addr,
    }
}

/// What `dlsym` hands out for `addr`, found in whichever object defines it.
pub(crate) fn exported_anywhere(addr: usize) -> usize {
    if !site::any_exports() {
        return addr;
    }
    match Library::containing(addr) {
        Some(lib) => exported(&lib, addr),
        None => addr,
    }
}

#[cfg(feature = "libc")]
fn install_dlsym_filter() {
    staticdl_libc::set_export_filter(exported_anywhere);
}

#[cfg(not(feature = "libc"))]
fn install_dlsym_filter() {}
