//! Applying relocations: `DT_RELR`, `DT_RELA`, `DT_REL` and `DT_JMPREL`.
//!
//! Owns [`Relocator`]: for each relocation of a module it decodes the entry
//! (`decode`), finds a checked place to write it (a [`Target`] inside a writable
//! segment of the module, or the load fails), binds the symbol through the load's
//! [`Scope`] (with a per-module cache), computes the value for the machine's
//! [`RelocKind`] (`compute`) and writes it. IFUNC-valued and `IRELATIVE`
//! relocations are collected and applied after every module of the load is
//! relocated, so their resolvers run against relocated code. Missing imports are
//! all collected before the load fails. It does not change protections (RELRO is
//! the mapping's) and runs no code except IFUNC resolvers.
//!
//! Unsafe code is allowed in one function here, [`Relocator::finish`]: calling IFUNC
//! resolvers of relocated objects, and writing their results to targets checked when
//! they were deferred.

mod compute;
mod decode;

use crate::arch::{Arch, RelocKind};
use std::collections::HashMap;
use std::sync::Arc;

use crate::elf::raw::{Sym, STB_LOCAL, STB_WEAK, STT_FUNC, STV_PROTECTED};
use crate::error::{Error, ErrorKind, MissingSymbol, Result};
use crate::imports::{BindHook, BindRequest, BoundTo, Import, SlotKind};
use crate::map::{Target, View};
use crate::module::Module;
use crate::runtime::stubs::StubLease;
use crate::runtime::tls::{self, StaticError};
use crate::runtime::{ReserveError, TlsIndex};
use crate::scope::{Binding, Entry, Owner, Scope, Source};
use crate::symbols::{required_version, SymbolName};

use compute::{compute, width, Refusal, Value};
use decode::{Reloc, Relr};

/// A relocation whose value comes from calling an IFUNC resolver.
struct Deferred {
    target: usize,
    resolver: usize,
    addend: i64,
    kind: RelocKind,
}

/// Most slots of the per-module binding cache (direct-mapped by symbol index);
/// the cache is sized to the object's relocation count, so a small object pays
/// for a small one.
const CACHE_MAX: usize = 8192;

/// A slot of the binding cache: the symbol index it holds, and its binding
/// (`None`: write zero, a weak or already reported missing import).
type Cached = (u32, Option<Binding>);

/// Relocates the modules of one load against one scope.
pub(crate) struct Relocator<'s, 'a> {
    scope: &'s Scope<'a>,
    /// Imports not found, per module, in first-seen order.
    missing: Vec<MissingSymbol>,
    /// IFUNC and `IRELATIVE` work, applied by [`Relocator::finish`].
    deferred: Vec<Deferred>,
    /// Which previously loaded objects (by index) a binding used.
    pub used_loaded: Vec<usize>,
    /// Arguments of `R_X86_64_TLSDESC` descriptors; they must live as long as the
    /// objects (the group keeps them).
    /// Boxed: each descriptor points at its argument, which must never move.
    #[allow(clippy::vec_box)]
    pub tlsdesc_args: Vec<Box<TlsIndex>>,
    /// TLS modules whose blocks initial-exec relocations placed in the static
    /// surplus; their images are installed once the load is relocated.
    pub static_modules: Vec<usize>,
    /// Whether strong imports nothing defines are trapped (functions) instead of
    /// failing the load.
    trap_unresolved: bool,
    /// The trap stub of each `(module, symbol index)` trapped so far.
    traps: HashMap<(usize, u32), usize>,
    /// The stubs the load's objects use; they live as long as the objects.
    pub stubs: Vec<StubLease>,
    /// The load's bind hooks (`LoadOptions::bind_hooks`).
    hooks: &'s [Arc<BindHook>],
    /// Where each import was bound, by module, when the load records imports.
    imports: Option<Vec<(usize, Import)>>,
    /// The `(module, symbol index)` pairs recorded so far.
    recorded: std::collections::HashSet<(usize, u32)>,
}

/// The module being relocated, with what every relocation of it needs at hand.
struct Object<'m> {
    m: &'m Module,
    view: View<'m>,
    bias: u64,
}

impl<'s, 'a> Relocator<'s, 'a> {
    /// A relocator over `scope`; `trap_unresolved` is the load's policy for
    /// imports nothing defines.
    pub fn new(
        scope: &'s Scope<'a>,
        trap_unresolved: bool,
        record_imports: bool,
        hooks: &'s [Arc<BindHook>],
    ) -> Self {
        Relocator {
            hooks,
            imports: record_imports.then(Vec::new),
            recorded: std::collections::HashSet::new(),
            trap_unresolved,
            traps: HashMap::new(),
            stubs: Vec::new(),
            scope,
            missing: Vec::new(),
            deferred: Vec::new(),
            used_loaded: Vec::new(),
            tlsdesc_args: Vec::new(),
            static_modules: Vec::new(),
        }
    }

    /// Apply every relocation of `m`.
    pub fn relocate<A: Arch>(&mut self, m: &Module) -> Result<()> {
        let o = Object {
            m,
            view: m.view(),
            bias: m.mapping.bias() as u64,
        };
        let r = &m.dynamic.relocs;
        // Symbol relocations are a fraction of a table (relative ones dominate).
        let nrel = r.rela.len() / 4 + r.rel.len() / 4 + r.plt_rela.len() + r.plt_rel.len();
        let slots = nrel.clamp(16, CACHE_MAX).next_power_of_two();
        let mut cache: Vec<Cached> = vec![(u32::MAX, None); slots];
        let missing_before = self.missing.len();
        for offset in Relr::new(&r.relr) {
            let t = o.target::<A>(offset, 8, "DT_RELR")?;
            t.write_u64((t.read() as u64).wrapping_add(o.bias));
        }
        for i in 0..r.rela.len() {
            let Some(rela) = r.rela.get(i) else { break };
            // Most entries of a big table are `R_X86_64_RELATIVE`: applied here
            // without the general path (as glibc does for its `DT_RELACOUNT` block).
            if rela.info == u64::from(A::RELATIVE) {
                let t = o.target::<A>(rela.offset, 8, "R_X86_64_RELATIVE")?;
                t.write_u64(o.bias.wrapping_add(rela.addend as u64));
                continue;
            }
            self.one::<A>(&o, rela.into(), &mut cache)?;
        }
        for i in 0..r.rel.len() {
            let Some(rel) = r.rel.get(i) else { break };
            self.one::<A>(&o, rel.into(), &mut cache)?;
        }
        for i in 0..r.plt_rela.len() {
            let Some(rela) = r.plt_rela.get(i) else { break };
            self.one::<A>(&o, rela.into(), &mut cache)?;
        }
        for i in 0..r.plt_rel.len() {
            let Some(rel) = r.plt_rel.get(i) else { break };
            self.one::<A>(&o, rel.into(), &mut cache)?;
        }
        if self.missing.len() > missing_before {
            return Err(Error::new(
                &m.path,
                ErrorKind::UnresolvedSymbols {
                    symbols: self.missing.split_off(missing_before),
                },
            ));
        }
        Ok(())
    }

    /// Apply one relocation entry.
    fn one<A: Arch>(&mut self, o: &Object<'_>, r: Reloc, cache: &mut [Cached]) -> Result<()> {
        let kind = A::kind(r.r_type);
        if kind == RelocKind::None {
            return Ok(());
        }
        let t = o.target::<A>(r.offset, width(kind, A::TLSDESC_SIZE), &A::name(r.r_type))?;
        let addend = r.addend.unwrap_or_else(|| t.read());
        match kind {
            RelocKind::Relative => {
                return write::<A>(&t, compute(kind, 0, addend, 0, o.bias), o, r)
            }
            RelocKind::IRelative => return self.irelative(o, r, t, addend),
            RelocKind::Copy | RelocKind::Unknown => return Err(o.unsupported::<A>(r)),
            RelocKind::Tls => return Err(o.tls_refused::<A>(r)),
            _ => {}
        }
        let binding = if r.sym == 0 {
            // No symbol: S is 0, and a TLS relocation refers to this object itself.
            Some(o.own_tls_or_zero(kind))
        } else {
            // The cache's length is a power of two.
            let slot = &mut cache[r.sym as usize & (cache.len() - 1)];
            if slot.0 != r.sym {
                *slot = (r.sym, self.bind(o, r.sym)?);
            }
            slot.1
        };
        let tls = is_tls(kind);
        match (binding, tls) {
            // Missing (already recorded, the load fails) or weak: nothing to set
            // up for TLS; zero for the rest.
            (None, true) => Ok(()),
            (None, false) => {
                write::<A>(&t, compute(kind, 0, addend, t.addr() as u64, o.bias), o, r)
            }
            (
                Some(Binding::Tls {
                    module,
                    offset,
                    size,
                    ..
                }),
                true,
            ) => self.tls::<A>(o, r, kind, t, addend, (module, offset, size)),
            (Some(Binding::Unresolved), _) => self.unresolved::<A>(o, r, kind, &t, addend),
            (Some(_), true) => Err(o.not_tls::<A>(r)),
            (Some(Binding::Ifunc(resolver)), false) => {
                self.deferred.push(Deferred {
                    target: t.addr(),
                    resolver,
                    addend,
                    kind,
                });
                Ok(())
            }
            (Some(Binding::Addr(s)), false) => {
                let s = self.hooked(o, r, kind, s);
                write::<A>(
                    &t,
                    compute(kind, s as u64, addend, t.addr() as u64, o.bias),
                    o,
                    r,
                )
            }
            (Some(Binding::Tls { addr: s, .. }), false) => write::<A>(
                &t,
                compute(kind, s as u64, addend, t.addr() as u64, o.bias),
                o,
                r,
            ),
        }
    }

    /// The address a symbol relocation binds to once the load's bind hooks have
    /// seen it (for PLT slots, GOT entries and 64-bit pointers only).
    fn hooked(&self, o: &Object<'_>, r: Reloc, kind: RelocKind, target: usize) -> usize {
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

    /// `R_X86_64_IRELATIVE`: the resolver at `B + A`, called after everything
    /// else is relocated.
    fn irelative(&mut self, o: &Object<'_>, r: Reloc, t: Target<'_>, addend: i64) -> Result<()> {
        let resolver = (o.bias as usize).wrapping_add(addend as usize);
        if !o.m.is_code(resolver) {
            return Err(Error::malformed(
                &o.m.path,
                "R_X86_64_IRELATIVE resolver does not lie in the object's code",
                r.offset,
            ));
        }
        self.deferred.push(Deferred {
            target: t.addr(),
            resolver,
            addend: 0,
            kind: RelocKind::IRelative,
        });
        Ok(())
    }

    /// Bind symbol `idx` of the object through the scope. `None` means "write
    /// zero": a weak import nobody defines, or a missing import (recorded).
    fn bind(&mut self, o: &Object<'_>, idx: u32) -> Result<Option<Binding>> {
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
        let version = required_version(&m.dynamic, &m.versions, idx);
        let import = !sym.is_defined();
        let weak = sym.bind() == STB_WEAK;
        if let Some((found, owner, entry)) =
            self.scope.lookup(&SymbolName::with_version(name, version))
        {
            if let Owner::Loaded(k) = owner {
                if !self.used_loaded.contains(&k) {
                    self.used_loaded.push(k);
                }
            }
            if import {
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
    fn record(
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

    fn record_missing(&mut self, name: &[u8], version: Option<&[u8]>) {
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
    fn unresolved<A: Arch>(
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

    /// `R_X86_64_DTPMOD64`, `R_X86_64_DTPOFF64` and `R_X86_64_TLSDESC` against
    /// TLS block `(module, offset, size)`.
    fn tls<A: Arch>(
        &mut self,
        o: &Object<'_>,
        r: Reloc,
        kind: RelocKind,
        t: Target<'_>,
        addend: i64,
        (module, offset, size): (usize, u64, u64),
    ) -> Result<()> {
        if module == 0 {
            return Err(o.not_tls::<A>(r));
        }
        let offset = offset.wrapping_add(addend as u64);
        // Plugin code adds this offset to its block: it must stay inside it.
        if kind != RelocKind::DtpMod && offset >= size.max(1) {
            return Err(Error::malformed(
                &o.m.path,
                format!(
                    "{} offset {offset:#x} lies outside the TLS block ({size:#x} bytes)",
                    A::name(r.r_type),
                ),
                r.offset,
            ));
        }
        match kind {
            RelocKind::DtpMod => t.write_u64(module as u64),
            RelocKind::DtpOff => t.write_u64(offset),
            RelocKind::TpOff | RelocKind::TpOff32 => {
                let base = tls::ensure_static(module).map_err(|e| {
                    let (size, align) = tls::shape(module);
                    o.static_refused(e, size as u64, align as u64)
                })?;
                if !self.static_modules.contains(&module) {
                    self.static_modules.push(module);
                }
                let v = (base as i64).wrapping_add(offset as i64);
                if kind == RelocKind::TpOff {
                    t.write_u64(v as u64);
                } else {
                    let v = i32::try_from(v).map_err(|_| {
                        Error::new(
                            &o.m.path,
                            ErrorKind::RelocationOverflow {
                                kind: A::name(r.r_type),
                                symbol: o.sym_name(r.sym).unwrap_or_default(),
                            },
                        )
                    })?;
                    t.write_u32(v as u32);
                }
            }
            RelocKind::TlsDesc if tls::static_tpoff(module).is_some() => {
                // A block in the static surplus: the descriptor returns its offset.
                let base = tls::static_tpoff(module).unwrap_or(0);
                t.write_pair(
                    A::tlsdesc_static() as u64,
                    (base as i64).wrapping_add(offset as i64) as u64,
                );
            }
            _ => {
                let arg = Box::new(TlsIndex {
                    module,
                    offset: offset as usize,
                });
                let arg_addr = &*arg as *const TlsIndex as u64;
                self.tlsdesc_args.push(arg);
                t.write_pair(A::tlsdesc_dynamic() as u64, arg_addr);
            }
        }
        Ok(())
    }

    /// Apply the deferred IFUNC and `IRELATIVE` relocations, calling each resolver
    /// (when `run_code`; otherwise the slots stay zero).
    ///
    /// # Safety
    /// Every resolver was checked to lie in its object's executable segment; calling
    /// it runs that object's code, which the caller must have decided to trust, and
    /// every module of the load must be fully relocated and still mapped, with
    /// RELRO not yet applied.
    #[allow(unsafe_code)]
    pub unsafe fn finish(self, run_code: bool) -> Result<()> {
        for d in self.deferred {
            let value = if run_code {
                // SAFETY: the caller's contract: `d.resolver` is code of a relocated
                // object with the IFUNC resolver ABI (no arguments, returns an address).
                let f: extern "C" fn() -> usize = unsafe { std::mem::transmute(d.resolver) };
                f() as u64
            } else {
                0
            };
            let v = match d.kind {
                RelocKind::Absolute => value.wrapping_add(d.addend as u64),
                _ => value,
            };
            // SAFETY: `d.target` was checked (a `Target`) to lie in a writable
            // segment for 8 bytes when it was deferred, and the caller guarantees
            // the mapping is alive and not yet protected.
            unsafe { (d.target as *mut u64).write_unaligned(v) };
        }
        Ok(())
    }
}

/// Whether `kind` is about a thread-local block.
fn is_tls(kind: RelocKind) -> bool {
    matches!(
        kind,
        RelocKind::DtpMod
            | RelocKind::DtpOff
            | RelocKind::TlsDesc
            | RelocKind::TpOff
            | RelocKind::TpOff32
    )
}

/// Store a computed value, or report why it could not be computed.
fn write<A: Arch>(
    t: &Target<'_>,
    v: std::result::Result<Value, Refusal>,
    o: &Object<'_>,
    r: Reloc,
) -> Result<()> {
    match v {
        Ok(Value::U64(v)) => t.write_u64(v),
        Ok(Value::U32(v)) => t.write_u32(v),
        Err(Refusal::Overflow) => {
            return Err(Error::new(
                &o.m.path,
                ErrorKind::RelocationOverflow {
                    kind: A::name(r.r_type),
                    symbol: o.sym_name(r.sym).unwrap_or_default(),
                },
            ))
        }
        Err(Refusal::NotComputable) => return Err(o.unsupported::<A>(r)),
    }
    Ok(())
}

impl Object<'_> {
    /// The checked place relocation `what` at `vaddr` writes `size` bytes to.
    #[inline]
    fn target<A: Arch>(&self, vaddr: u64, size: u64, what: &str) -> Result<Target<'_>> {
        self.view.writable_target(vaddr, size).ok_or_else(|| {
            Error::malformed(
                &self.m.path,
                format!("{what} target does not lie inside a writable segment"),
                vaddr,
            )
        })
    }

    /// What a relocation without a symbol binds to: this object's own TLS block
    /// for the TLS kinds (module id 0 if it has none), address 0 otherwise.
    fn own_tls_or_zero(&self, kind: RelocKind) -> Binding {
        match kind {
            k if is_tls(k) => Binding::Tls {
                module: self.m.tls_id,
                offset: 0,
                size: self.m.tls_size(),
                addr: 0,
            },
            _ => Binding::Addr(0),
        }
    }

    fn sym_name(&self, idx: u32) -> Option<String> {
        if idx == 0 {
            return None;
        }
        self.m
            .dynamic
            .symtab
            .get(idx as usize)
            .map(|s| self.m.name_of(&s))
    }

    fn unsupported<A: Arch>(&self, r: Reloc) -> Error {
        Error::new(
            &self.m.path,
            ErrorKind::UnsupportedRelocation {
                kind: A::name(r.r_type),
                symbol: self.sym_name(r.sym),
            },
        )
    }

    fn tls_refused<A: Arch>(&self, r: Reloc) -> Error {
        Error::new(
            &self.m.path,
            ErrorKind::TlsUnsupported {
                what: format!(
                    "{} against {}: this TLS relocation is not handled",
                    A::name(r.r_type),
                    self.sym_name(r.sym).unwrap_or_else(|| "no symbol".into())
                ),
            },
        )
    }

    /// Why a TLS block could not be placed in the static surplus.
    fn static_refused(&self, e: StaticError, size: u64, align: u64) -> Error {
        let what = match e {
            StaticError::Reserve(ReserveError::Exhausted { available, total }) => {
                return Error::new(
                    &self.m.path,
                    ErrorKind::StaticTlsExhausted {
                        needed: size,
                        align,
                        available: available as u64,
                        total: total as u64,
                    },
                )
            }
            StaticError::Reserve(ReserveError::Alignment) => format!(
                "initial-exec TLS block aligned to {align} bytes: the static surplus guarantees 64"
            ),
            StaticError::Reserve(ReserveError::NoSurplus) => "initial-exec TLS needs the static surplus of the executable's TLS, and this host has none (the loader is not part of the executable)".to_string(),
            StaticError::InUse => "initial-exec TLS against a block that threads already use as dynamic TLS".to_string(),
        };
        Error::new(&self.m.path, ErrorKind::TlsUnsupported { what })
    }

    /// A TLS relocation against a symbol that is not thread-local, or of an
    /// object without `PT_TLS`.
    fn not_tls<A: Arch>(&self, r: Reloc) -> Error {
        let sym = self.sym_name(r.sym).unwrap_or_else(|| "no symbol".into());
        Error::new(
            &self.m.path,
            ErrorKind::TlsUnsupported {
                what: format!(
                    "{} against {sym}, which is not a TLS symbol of a loaded object",
                    A::name(r.r_type)
                ),
            },
        )
    }
}

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
