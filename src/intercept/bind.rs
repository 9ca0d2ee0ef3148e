//! Trapping while relocating: what each load through the facade gets in its
//! loader options.
//!
//! Owns [`prepare`], which gives a load (a) a bind hook, when anything is to be
//! trapped, that binds each selected import (and each binding to an export
//! site) to a stub, (b) an unload hook that releases the sites of every object
//! unmapped, and (c) the C entry point as a host symbol. The sites a load
//! makes are owned by their importer, found by path once the load has ended
//! (the bind hook's captured ticket is dropped with the options after the
//! load; a site whose object did not load is released then). It does not
//! decide what a site runs (`site.rs`, `dispatch.rs`).

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use staticdl_loader::{BindRequest, LoadOptions, UnloadHook};

use super::meta::TrapKind;
use super::request::Request;
use super::select::Selection;
use super::site::{self, Key, Owner};

/// Adds what interception needs to the options of one load; `per_open` are the
/// open's own requests.
pub(crate) fn prepare(load: &mut LoadOptions, per_open: &[Request]) {
    load.last.push(super::capi::source());
    load.on_unload.push(unload_hook());
    let globals = super::global::snapshot();
    let imports: Vec<Request> = per_open
        .iter()
        .chain(globals.iter())
        .filter(|r| matches!(r.selection, Selection::Imports(_)))
        .cloned()
        .collect();
    if imports.is_empty() && !site::any_exports() {
        return;
    }
    let ticket = Ticket::default();
    load.bind_hooks.push(Arc::new(move |req: &BindRequest<'_>| {
        hook(req, &imports, &ticket)
    }));
}

/// The hook that releases the sites of each object unmapped.
fn unload_hook() -> Arc<UnloadHook> {
    static HOOK: OnceLock<Arc<UnloadHook>> = OnceLock::new();
    HOOK.get_or_init(|| Arc::new(|start: usize, _len: usize| site::release_owner(start)))
        .clone()
}

/// The sites one load made; settled when the load's options are dropped.
#[derive(Default)]
struct Ticket {
    made: Mutex<Vec<u32>>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let made = std::mem::take(self.made.get_mut().unwrap_or_else(|e| e.into_inner()));
        if made.is_empty() {
            return;
        }
        let loaded = crate::host::namespace().loaded();
        site::settle(&made, |path: &Path| {
            loaded
                .iter()
                .find(|l| l.path() == path)
                .map(|l| l.address_range().0)
        });
    }
}

/// One binding offered by the loader.
fn hook(req: &BindRequest<'_>, imports: &[Request], ticket: &Ticket) -> Option<usize> {
    if req.target == 0 {
        return None;
    }
    if let Some((stub, _)) = site::export_stub(req.target) {
        return Some(stub);
    }
    let links: Vec<_> = imports
        .iter()
        .filter(|r| match &r.selection {
            Selection::Imports(i) => i.selects(req.importer, req.symbol, req.slot),
            Selection::Exports(_) => false,
        })
        .map(Request::link)
        .collect();
    if links.is_empty() {
        return None;
    }
    let key = Key {
        kind: TrapKind::Import,
        object: req.importer.to_path_buf(),
        symbol: req.symbol.to_vec(),
        version: req.version.map(<[u8]>::to_vec),
        target: req.target,
    };
    let Some((index, stub)) = site::link(key, Owner::Pending, &links) else {
        exhausted(req);
        return None;
    };
    ticket
        .made
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(index);
    Some(stub)
}

/// Every stub is in use: the binding is left as it is, and that is said once.
fn exhausted(req: &BindRequest<'_>) {
    static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !SAID.swap(true, std::sync::atomic::Ordering::Relaxed) {
        eprintln!(
            "staticdl: {}: {} not intercepted: all {} stubs are in use",
            req.importer.display(),
            String::from_utf8_lossy(req.symbol),
            staticdl_loader::runtime::STUB_COUNT
        );
    }
}
