//! Binding symbols: where each import resolves, what the host hooks make of it,
//! and what is recorded about it.
//!
//! Owns the [`Relocator`]'s symbol side: looking an import up through the load's
//! scope (local, protected and `-Bsymbolic` definitions bind to themselves), the
//! policy for imports nothing defines (fail the load, or trap calls of functions),
//! the bind hooks a host may redirect function bindings with, and the import
//! report a dry run asks for. It does not write relocations (`mod.rs`).

use std::collections::HashSet;

use super::compute::compute;
use super::decode::Reloc;
use super::{write, Object, Relocator};
use crate::arch::{Arch, RelocKind};
use crate::elf::raw::{Sym, STB_LOCAL, STB_WEAK, STT_FUNC, STV_PROTECTED};
use crate::error::{Error, MissingSymbol, Result};
use crate::imports::{BindRequest, BoundTo, Import, SlotKind};
use crate::map::Target;
use crate::module::Module;
use crate::scope::{Binding, Entry, Owner, Source};
use crate::symbols::{
    gnu_hash, hash_from_chain, required_version, required_version_hashed, SymbolName,
};

impl Relocator<'_, '_> {
    /// Bind symbol `idx` of the object through the scope. `None` means "write
    /// zero": a weak import nobody defines, or a missing import (recorded).
    pub(super) fn bind(&mut self, o: &Object<'_>, idx: u32) -> Result<Option<Binding>> {
        let m = o.m;
        let sym: Sym = m.dynamic.symtab.get(idx as usize).ok_or_else(|| {
            Error::malformed(
                &m.path,
                format!("relocation names symbol index {idx} past the symbol table"),
                0,
            )
        })?;
        let bad_ifunc = || {
            Error::malformed(
                &m.path,
                format!(
                    "IFUNC resolver of {} does not lie in its object's code",
                    m.name_of(&sym)
                ),
                sym.value,
            )
        };
        // Local symbols, and protected or -Bsymbolic definitions, bind to themselves.
        if sym.bind() == STB_LOCAL
            || (sym.is_defined() && (sym.visibility() == STV_PROTECTED || m.dynamic.symbolic))
        {
            return Binding::of(m, &sym).map(Some).map_err(|_| bad_ifunc());
        }
        let name = m.dynamic.strtab.c_str(sym.name).ok_or_else(|| {
            Error::malformed(
                &m.path,
                "symbol name lies outside DT_STRTAB",
                u64::from(sym.name),
            )
        })?;
        let hashed = required_version_hashed(&m.dynamic, &m.versions, idx);
        let version = hashed.map(|(v, _)| v);
        let import = !sym.is_defined();
        let weak = sym.bind() == STB_WEAK;
        // A definition of the object itself (a preemptible function called
        // through its own PLT, most of a big library's imports): its hash is in
        // the object's own table.
        let gnu = (!import)
            .then(|| hash_from_chain(&m.dynamic, idx))
            .flatten()
            .unwrap_or_else(|| gnu_hash(name));
        if let Some((found, owner, entry)) = self
            .scope
            .lookup(&SymbolName::with_hashes(name, gnu, hashed))
        {
            if let Owner::Loaded(k) = owner {
                if !self.used_loaded.contains(&k) {
                    self.used_loaded.push(k);
                }
            }
            if import && self.imports.is_some() {
                let bound = match &self.scope.entries[entry] {
                    Entry::Module(def, _) => BoundTo::Object(def.path.clone()),
                    Entry::Source(_, Source::Host) => BoundTo::Host,
                    Entry::Source(_, Source::Provided(lib)) => BoundTo::Provided(lib.clone()),
                    Entry::Source(_, Source::Executable) => BoundTo::Executable,
                    Entry::Source(_, Source::Loader) => BoundTo::Loader,
                };
                self.record(m, idx, name, version, weak, bound);
            }
            return found.map(Some).map_err(|_| bad_ifunc());
        }
        if weak {
            self.record(m, idx, name, version, weak, BoundTo::WeakUndefined);
            return Ok(None);
        }
        if self.trap_unresolved {
            return Ok(Some(Binding::Unresolved));
        }
        self.record(m, idx, name, version, weak, BoundTo::Missing);
        self.record_missing(name, version);
        Ok(None)
    }

    /// Note where import `idx` of `m` was bound, when the load records imports.
    pub(super) fn record(
        &mut self,
        m: &Module,
        idx: u32,
        name: &[u8],
        version: Option<&[u8]>,
        weak: bool,
        bound: BoundTo,
    ) {
        let Some(imports) = &mut self.imports else {
            return;
        };
        let key = (m as *const Module as usize, idx);
        if !self.recorded.insert(key) {
            return;
        }
        imports.push((
            key.0,
            Import {
                name: String::from_utf8_lossy(name).into_owned(),
                version: version.map(|v| String::from_utf8_lossy(v).into_owned()),
                weak,
                bound,
            },
        ));
    }

    /// The imports recorded for module `m` (empty unless the load records them).
    pub fn imports_of(&mut self, m: &Module) -> Vec<Import> {
        let key = m as *const Module as usize;
        match &mut self.imports {
            Some(all) => {
                let (mine, rest): (Vec<_>, Vec<_>) = all.drain(..).partition(|(k, _)| *k == key);
                *all = rest;
                mine.into_iter().map(|(_, i)| i).collect()
            }
            None => Vec::new(),
        }
    }

    pub(super) fn record_missing(&mut self, name: &[u8], version: Option<&[u8]>) {
        let missing = MissingSymbol {
            name: String::from_utf8_lossy(name).into_owned(),
            version: version.map(|v| String::from_utf8_lossy(v).into_owned()),
        };
        if !self.missing.contains(&missing) {
            self.missing.push(missing);
        }
    }

    /// A relocation against an import nothing defines, under the trapping
    /// policy: a function (a PLT slot, or the address of a `STT_FUNC` symbol) is
    /// bound to a stub that reports the call and aborts; anything else is
    /// recorded as missing, as without the policy.
    pub(super) fn unresolved<A: Arch>(
        &mut self,
        o: &Object<'_>,
        r: Reloc,
        kind: RelocKind,
        t: &Target<'_>,
        addend: i64,
    ) -> Result<()> {
        let m = o.m;
        let Some(sym) = m.dynamic.symtab.get(r.sym as usize) else {
            return Ok(());
        };
        let name = m.dynamic.strtab.c_str(sym.name).unwrap_or(b"?");
        let function = kind == RelocKind::JumpSlot
            || (matches!(kind, RelocKind::GlobDat | RelocKind::Absolute) && sym.kind() == STT_FUNC);
        let key = (m as *const Module as usize, r.sym);
        let stub = match self.traps.get(&key) {
            Some(&addr) => Some(addr),
            None if function => {
                crate::runtime::stubs::trap(&m.path, &String::from_utf8_lossy(name)).map(|lease| {
                    let addr = lease.address();
                    self.stubs.push(lease);
                    self.traps.insert(key, addr);
                    addr
                })
            }
            None => None,
        };
        match stub {
            Some(s) => write::<A>(
                t,
                compute(kind, s as u64, addend, t.addr() as u64, o.bias),
                o,
                r,
            ),
            None => {
                let version = required_version(&m.dynamic, &m.versions, r.sym);
                self.record_missing(name, version);
                Ok(())
            }
        }
    }

    /// The address a symbol relocation binds to once the load's bind hooks have
    /// seen it (for PLT slots, GOT entries and 64-bit pointers only).
    pub(super) fn hooked(&self, o: &Object<'_>, r: Reloc, kind: RelocKind, target: usize) -> usize {
        if self.hooks.is_empty() || r.sym == 0 {
            return target;
        }
        let Some(slot) = SlotKind::of(kind) else {
            return target;
        };
        let m = o.m;
        let Some(sym) = m.dynamic.symtab.get(r.sym as usize) else {
            return target;
        };
        let Some(name) = m.dynamic.strtab.c_str(sym.name) else {
            return target;
        };
        let request = BindRequest {
            importer: &m.path,
            symbol: name,
            version: required_version(&m.dynamic, &m.versions, r.sym),
            slot,
            target,
        };
        self.hooks
            .iter()
            .find_map(|h| h(&request))
            .unwrap_or(target)
    }
}

/// The pairs already recorded, by `(module, symbol index)`.
pub(super) type Recorded = HashSet<(usize, u32)>;
