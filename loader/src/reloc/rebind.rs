//! Rebinding an object that is already loaded: a host's hook offered each
//! function binding it has, and the slots it redirects rewritten.
//!
//! Owns [`rebind`]: how an interceptor attaches to and detaches from a loaded
//! object without patching code: PLT slots, GOT entries and 64-bit pointers
//! against a symbol are read, offered, and rewritten with RELRO opened for the
//! writes. It does not bind anything at load time (`bind.rs` does).

use super::decode::Reloc;
use crate::arch::Arch;
use crate::error::Result;
use crate::imports::{BindRequest, SlotKind};
use crate::module::Module;
use crate::symbols::required_version;

/// Offer every function binding of `m` that is already written (PLT slots, GOT
/// entries and 64-bit pointers against a symbol) to `hook`, with the address the
/// slot holds now, and write what it answers. RELRO is made writable for the
/// writes and read-only again after. Returns how many slots changed.
pub(crate) fn rebind<A: Arch>(
    m: &Module,
    hook: &dyn Fn(&BindRequest<'_>) -> Option<usize>,
) -> Result<usize> {
    let view = m.view();
    let mut changes: Vec<(u64, u64)> = Vec::new();
    let r = &m.dynamic.relocs;
    let entries = (0..r.plt_rela.len())
        .filter_map(|i| r.plt_rela.get(i).map(Reloc::from))
        .chain((0..r.rela.len()).filter_map(|i| r.rela.get(i).map(Reloc::from)));
    for e in entries {
        let Some(slot) = SlotKind::of(A::kind(e.r_type)) else {
            continue;
        };
        if e.sym == 0 {
            continue;
        }
        let Some(t) = view.writable_target(e.offset, 8) else {
            continue;
        };
        let Some(sym) = m.dynamic.symtab.get(e.sym as usize) else {
            continue;
        };
        let Some(name) = m.dynamic.strtab.c_str(sym.name) else {
            continue;
        };
        let current = t.read() as u64;
        let request = BindRequest {
            importer: &m.path,
            symbol: name,
            version: required_version(&m.dynamic, &m.versions, e.sym),
            slot,
            target: current as usize,
        };
        if let Some(new) = hook(&request) {
            if new as u64 != current {
                changes.push((e.offset, new as u64));
            }
        }
    }
    if changes.is_empty() {
        return Ok(0);
    }
    let relro = m.image.relro;
    if let Some(relro) = relro {
        m.mapping.relro_writable(&m.path, relro, true)?;
    }
    for &(offset, value) in &changes {
        if let Some(t) = view.writable_target(offset, 8) {
            t.write_u64(value);
        }
    }
    if let Some(relro) = relro {
        m.mapping.relro_writable(&m.path, relro, false)?;
    }
    Ok(changes.len())
}
