//! Applying relocations: `DT_RELA`, `DT_REL`, `DT_RELR` and `DT_JMPREL`.
//!
//! Owns [`Relocator`]: for each relocation of a module it resolves the symbol through
//! the load's [`Scope`], computes the value for the machine's [`RelocKind`], checks
//! that the target lies inside a writable segment of the module, and writes it.
//! IFUNC-valued and `IRELATIVE` relocations are collected and applied after every
//! module of the load is relocated, so their resolvers run against relocated code.
//! Missing imports are all collected before the load fails. It does not change
//! protections (RELRO is `map`'s) and runs no code except IFUNC resolvers.

use crate::arch::{Arch, RelocKind};
use crate::elf::raw::{Rel, Rela, Sym, STB_LOCAL, STB_WEAK, STV_PROTECTED};
use crate::error::{Error, ErrorKind, MissingSymbol, Result};
use crate::module::Module;
use crate::runtime::TlsIndex;
use crate::scope::{Binding, Owner, Scope};
use crate::symbols::{required_version, SymbolName};

/// A relocation whose value comes from calling an IFUNC resolver.
pub(crate) struct Deferred {
    target: usize,
    resolver: usize,
    addend: i64,
    kind: RelocKind,
}

/// Most slots of the per-module binding cache (direct-mapped by symbol index);
/// the cache is sized to the object's relocation count, so a small object pays
/// for a small one.
const CACHE_MAX: usize = 8192;

/// Relocates the modules of one load against one scope.
pub(crate) struct Relocator<'s, 'a> {
    scope: &'s Scope<'a>,
    /// Imports not found, per module, in first-seen order.
    pub missing: Vec<MissingSymbol>,
    /// IFUNC and `IRELATIVE` work, applied by [`Relocator::finish`].
    deferred: Vec<Deferred>,
    /// Which previously loaded objects (by index) a binding used.
    pub used_loaded: Vec<usize>,
    /// Arguments of `R_X86_64_TLSDESC` descriptors; they must live as long as the
    /// objects (the group keeps them).
    /// Boxed: each descriptor points at its argument, which must never move.
    #[allow(clippy::vec_box)]
    pub tlsdesc_args: Vec<Box<TlsIndex>>,
}

/// A relocation, whichever table it came from.
#[derive(Clone, Copy)]
struct Entry {
    offset: u64,
    r_type: u32,
    sym: u32,
    /// `None` for `REL` entries: the addend is read from the target.
    addend: Option<i64>,
}

impl From<Rela> for Entry {
    fn from(r: Rela) -> Self {
        Entry {
            offset: r.offset,
            r_type: r.info as u32,
            sym: (r.info >> 32) as u32,
            addend: Some(r.addend),
        }
    }
}

impl From<Rel> for Entry {
    fn from(r: Rel) -> Self {
        Entry {
            offset: r.offset,
            r_type: r.info as u32,
            sym: (r.info >> 32) as u32,
            addend: None,
        }
    }
}

impl<'s, 'a> Relocator<'s, 'a> {
    /// A relocator over `scope`.
    pub fn new(scope: &'s Scope<'a>) -> Self {
        Relocator {
            scope,
            missing: Vec::new(),
            deferred: Vec::new(),
            used_loaded: Vec::new(),
            tlsdesc_args: Vec::new(),
        }
    }

    /// Apply every relocation of `m` (module `index` of the load).
    pub fn relocate<A: Arch>(&mut self, m: &Module, index: usize) -> Result<()> {
        let r = &m.dynamic.relocs;
        // Symbol relocations are a fraction of a table (relative ones dominate).
        let nrel = r.rela.len() / 4 + r.rel.len() / 4 + r.plt_rela.len() + r.plt_rel.len();
        let slots = nrel.clamp(16, CACHE_MAX).next_power_of_two();
        let mut cache = vec![(u32::MAX, None::<Binding>); slots];
        let missing_before = self.missing.len();
        self.relr(m)?;
        // The writable segment relative relocations usually target, kept at hand:
        // most entries of a big table are `R_X86_64_RELATIVE`, applied here without
        // the general path (as glibc does for its `DT_RELACOUNT` block).
        let hot = m
            .image
            .loads
            .iter()
            .filter(|s| s.prot.write)
            .max_by_key(|s| s.memsz)
            .map(|s| (s.vaddr, s.end()));
        let bias = m.mapping.bias() as u64;
        for i in 0..r.rela.len() {
            let Some(rela) = r.rela.get(i) else { break };
            if let Some((start, end)) = hot {
                if A::kind(rela.info as u32) == RelocKind::Relative
                    && rela.offset >= start
                    && rela.offset <= end.saturating_sub(8)
                {
                    // SAFETY: [offset, offset + 8) lies inside a writable segment of
                    // `m`'s mapping, checked just above.
                    unsafe {
                        write64(
                            m.mapping.addr(rela.offset),
                            bias.wrapping_add(rela.addend as u64),
                        )
                    };
                    continue;
                }
            }
            self.one::<A>(m, index, Some(Entry::from(rela)), &mut cache)?;
        }
        for i in 0..r.rel.len() {
            let e = r.rel.get(i).map(Entry::from);
            self.one::<A>(m, index, e, &mut cache)?;
        }
        for i in 0..r.plt_rela.len() {
            let e = r.plt_rela.get(i).map(Entry::from);
            self.one::<A>(m, index, e, &mut cache)?;
        }
        for i in 0..r.plt_rel.len() {
            let e = r.plt_rel.get(i).map(Entry::from);
            self.one::<A>(m, index, e, &mut cache)?;
        }
        if self.missing.len() > missing_before {
            return Err(Error::new(
                m.path.clone(),
                ErrorKind::UnresolvedSymbols {
                    symbols: self.missing.split_off(missing_before),
                },
            ));
        }
        Ok(())
    }

    /// `DT_RELR`: packed relative relocations (address entries and bitmaps).
    fn relr(&mut self, m: &Module) -> Result<()> {
        let relr = &m.dynamic.relocs.relr;
        let bias = m.mapping.bias() as u64;
        let mut next: u64 = 0;
        for i in 0..relr.len() {
            let Some(entry) = relr.get(i) else { break };
            if entry & 1 == 0 {
                add_bias(m, entry, bias)?;
                next = entry.wrapping_add(8);
            } else {
                let mut bits = entry >> 1;
                let mut at = next;
                while bits != 0 {
                    if bits & 1 != 0 {
                        add_bias(m, at, bias)?;
                    }
                    bits >>= 1;
                    at = at.wrapping_add(8);
                }
                next = next.wrapping_add(63 * 8);
            }
        }
        Ok(())
    }

    fn one<A: Arch>(
        &mut self,
        m: &Module,
        index: usize,
        e: Option<Entry>,
        cache: &mut [(u32, Option<Binding>)],
    ) -> Result<()> {
        let Some(e) = e else { return Ok(()) };
        let kind = A::kind(e.r_type);
        let size = match kind {
            RelocKind::None => return Ok(()),
            RelocKind::Pc32 | RelocKind::Abs32 | RelocKind::Abs32Signed => 4,
            RelocKind::TlsDesc => 16,
            _ => 8,
        };
        let view = m.view();
        if !view.writable(e.offset, size) {
            return Err(Error::malformed(
                &m.path,
                format!(
                    "{} target does not lie inside a writable segment",
                    A::name(e.r_type)
                ),
                e.offset,
            ));
        }
        let target = m.mapping.addr(e.offset);
        let addend = match e.addend {
            Some(a) => a,
            // SAFETY: `target..target + size` was checked to lie inside a writable
            // segment of `m`'s mapping just above.
            None => unsafe { read_addend(target, size) },
        };
        let bias = m.mapping.bias();
        let unsupported = |sym: Option<String>| {
            Error::new(
                m.path.clone(),
                ErrorKind::UnsupportedRelocation {
                    kind: A::name(e.r_type),
                    symbol: sym,
                },
            )
        };
        match kind {
            RelocKind::Relative => {
                // SAFETY: target checked writable above, 8 bytes.
                unsafe { write64(target, (bias as u64).wrapping_add(addend as u64)) };
                return Ok(());
            }
            RelocKind::IRelative => {
                let resolver = bias.wrapping_add(addend as usize);
                if !m.is_code(resolver) {
                    return Err(Error::malformed(
                        &m.path,
                        "R_X86_64_IRELATIVE resolver does not lie in the object's code",
                        e.offset,
                    ));
                }
                self.deferred.push(Deferred {
                    target,
                    resolver,
                    addend: 0,
                    kind,
                });
                return Ok(());
            }
            RelocKind::Copy => return Err(unsupported(self.sym_name(m, e.sym))),
            RelocKind::Unknown => return Err(unsupported(self.sym_name(m, e.sym))),
            RelocKind::Tls | RelocKind::TpOff => {
                let what = if kind == RelocKind::TpOff {
                    "initial-exec TLS (a static offset from the thread pointer) cannot be honoured for a dynamically loaded object"
                } else {
                    "this TLS relocation is not handled"
                };
                return Err(Error::new(
                    m.path.clone(),
                    ErrorKind::TlsUnsupported {
                        what: format!(
                            "{} against {}: {what}",
                            A::name(e.r_type),
                            self.sym_name(m, e.sym)
                                .unwrap_or_else(|| "no symbol".into())
                        ),
                    },
                ));
            }
            _ => {}
        }
        // Everything left needs a symbol value S.
        let binding = if e.sym == 0 {
            // No symbol: S is 0, and a TLS relocation refers to this object itself.
            let mut b = Binding::address(0, Owner::New(index));
            b.tls_module = m.tls_id;
            b.value = 0;
            b.tls_size = m.tls_size();
            Some(b)
        } else {
            // The length is a power of two.
            let slot = e.sym as usize & (cache.len() - 1);
            if cache[slot].0 == e.sym {
                cache[slot].1
            } else {
                let b = self.resolve(m, index, e.sym)?;
                cache[slot] = (e.sym, b);
                b
            }
        };
        // An unresolved weak import, or a missing one already recorded, yields 0.
        let b = binding.unwrap_or(Binding::address(0, Owner::Host));
        if b.bad_ifunc {
            return Err(Error::malformed(
                &m.path,
                format!(
                    "IFUNC resolver of {} does not lie in its object's code",
                    self.sym_name(m, e.sym).unwrap_or_default()
                ),
                e.offset,
            ));
        }
        match kind {
            RelocKind::DtpMod | RelocKind::DtpOff | RelocKind::TlsDesc => {
                return self.tls::<A>(m, e, kind, addend, target, &b, binding.is_none());
            }
            _ => {}
        }
        if b.ifunc {
            self.deferred.push(Deferred {
                target,
                resolver: b.addr,
                addend,
                kind,
            });
            return Ok(());
        }
        let s = b.addr as u64;
        let p = target as u64;
        let overflow = || {
            Error::new(
                m.path.clone(),
                ErrorKind::RelocationOverflow {
                    kind: A::name(e.r_type),
                    symbol: self.sym_name(m, e.sym).unwrap_or_default(),
                },
            )
        };
        // SAFETY (all writes below): `target` was checked to lie inside a writable
        // segment of `m` for `size` bytes.
        match kind {
            RelocKind::Absolute => unsafe { write64(target, s.wrapping_add(addend as u64)) },
            RelocKind::GlobDat | RelocKind::JumpSlot => unsafe { write64(target, s) },
            // SAFETY: as for the arms above.
            RelocKind::Pc64 => unsafe {
                write64(target, s.wrapping_add(addend as u64).wrapping_sub(p))
            },
            RelocKind::Pc32 => {
                let v = (s as i128) + i128::from(addend) - (p as i128);
                let v = i32::try_from(v).map_err(|_| overflow())?;
                // SAFETY: `target` checked writable for 4 bytes above.
                unsafe { write32(target, v as u32) }
            }
            RelocKind::Abs32 => {
                let v = (s as i128) + i128::from(addend);
                let v = u32::try_from(v).map_err(|_| overflow())?;
                // SAFETY: `target` checked writable for 4 bytes above.
                unsafe { write32(target, v) }
            }
            RelocKind::Abs32Signed => {
                let v = (s as i128) + i128::from(addend);
                let v = i32::try_from(v).map_err(|_| overflow())?;
                // SAFETY: `target` checked writable for 4 bytes above.
                unsafe { write32(target, v as u32) }
            }
            _ => return Err(unsupported(self.sym_name(m, e.sym))),
        }
        Ok(())
    }

    /// Resolve symbol `idx` of `m` through the scope. `None` means "write zero": a
    /// weak import nobody defines, or a missing import (recorded in `missing`).
    fn resolve(&mut self, m: &Module, index: usize, idx: u32) -> Result<Option<Binding>> {
        let sym: Sym = m.dynamic.symtab.get(idx as usize).ok_or_else(|| {
            Error::malformed(
                &m.path,
                format!("relocation names symbol index {idx} past the symbol table"),
                0,
            )
        })?;
        let own = |m: &Module| Binding::of(m, &sym, Owner::New(index));
        // Local symbols, and protected or -Bsymbolic definitions, bind to themselves.
        if sym.bind() == STB_LOCAL
            || (sym.is_defined() && (sym.visibility() == STV_PROTECTED || m.dynamic.symbolic))
        {
            return Ok(Some(own(m)));
        }
        let name = m.dynamic.strtab.c_str(sym.name).ok_or_else(|| {
            Error::malformed(
                &m.path,
                "symbol name lies outside DT_STRTAB",
                u64::from(sym.name),
            )
        })?;
        let version = required_version(&m.dynamic, &m.versions, idx);
        let lookup = SymbolName::with_version(name, version);
        if let Some(b) = self.scope.lookup(&lookup) {
            if let Owner::Loaded(k) = b.owner {
                if !self.used_loaded.contains(&k) {
                    self.used_loaded.push(k);
                }
            }
            return Ok(Some(b));
        }
        if sym.bind() == STB_WEAK {
            return Ok(None);
        }
        let missing = MissingSymbol {
            name: String::from_utf8_lossy(name).into_owned(),
            version: version.map(|v| String::from_utf8_lossy(v).into_owned()),
        };
        if !self.missing.contains(&missing) {
            self.missing.push(missing);
        }
        Ok(None)
    }

    /// `R_X86_64_DTPMOD64`, `R_X86_64_DTPOFF64` and `R_X86_64_TLSDESC`.
    #[allow(clippy::too_many_arguments)]
    fn tls<A: Arch>(
        &mut self,
        m: &Module,
        e: Entry,
        kind: RelocKind,
        addend: i64,
        target: usize,
        b: &Binding,
        unresolved: bool,
    ) -> Result<()> {
        if unresolved {
            // A missing import is already recorded; a weak one stays zero.
            return Ok(());
        }
        if b.tls_module == 0 {
            return Err(Error::new(
                m.path.clone(),
                ErrorKind::TlsUnsupported {
                    what: format!(
                        "TLS relocation against {}, which is not a TLS symbol of a loaded object",
                        self.sym_name(m, e.sym)
                            .unwrap_or_else(|| "no symbol".into())
                    ),
                },
            ));
        }
        let offset = b.value.wrapping_add(addend as u64);
        // Plugin code adds this offset to its block: it must stay inside it.
        if kind != RelocKind::DtpMod && offset >= b.tls_size.max(1) {
            return Err(Error::malformed(
                &m.path,
                format!(
                    "{} offset {offset:#x} lies outside the TLS block ({:#x} bytes)",
                    A::name(e.r_type),
                    b.tls_size
                ),
                e.offset,
            ));
        }
        // SAFETY (all writes): `target` was checked writable for the kind's size.
        match kind {
            RelocKind::DtpMod => unsafe { write64(target, b.tls_module as u64) },
            RelocKind::DtpOff => unsafe { write64(target, offset) },
            _ => {
                let arg = Box::new(TlsIndex {
                    module: b.tls_module,
                    offset: offset as usize,
                });
                let arg_addr = &*arg as *const TlsIndex as u64;
                self.tlsdesc_args.push(arg);
                // SAFETY: `target` was checked writable for 16 bytes (the kind's size).
                unsafe {
                    write64(
                        target,
                        crate::runtime::tls::tlsdesc_resolver_address() as u64,
                    );
                    write64(target + 8, arg_addr);
                }
            }
        }
        Ok(())
    }

    fn sym_name(&self, m: &Module, idx: u32) -> Option<String> {
        if idx == 0 {
            return None;
        }
        m.dynamic.symtab.get(idx as usize).map(|s| m.name_of(&s))
    }

    /// Apply the deferred IFUNC and `IRELATIVE` relocations, calling each resolver
    /// (when `run_code`; otherwise the slots stay zero).
    ///
    /// # Safety
    /// Every resolver was checked to lie in its object's executable segment; calling
    /// it runs that object's code, which the caller must have decided to trust, and
    /// every module of the load must be fully relocated.
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
            // SAFETY: `d.target` was checked writable (8 bytes) when it was deferred,
            // and the mapping is still alive (RELRO is protected after this).
            unsafe { write64(d.target, v) };
        }
        Ok(())
    }
}

/// `*at += bias` for a `DT_RELR` entry, after checking the target.
fn add_bias(m: &Module, vaddr: u64, bias: u64) -> Result<()> {
    if !m.view().writable(vaddr, 8) {
        return Err(Error::malformed(
            &m.path,
            "DT_RELR target does not lie inside a writable segment",
            vaddr,
        ));
    }
    let p = m.mapping.addr(vaddr);
    // SAFETY: [p, p + 8) lies inside a writable segment of `m`, checked above.
    unsafe { write64(p, (read_addend(p, 8) as u64).wrapping_add(bias)) };
    Ok(())
}

/// # Safety
/// `[addr, addr + size)` must be readable memory.
unsafe fn read_addend(addr: usize, size: u64) -> i64 {
    // SAFETY: the caller guarantees the range is readable; unaligned reads are fine.
    unsafe {
        if size == 4 {
            i64::from((addr as *const i32).read_unaligned())
        } else {
            (addr as *const i64).read_unaligned()
        }
    }
}

/// # Safety
/// `[addr, addr + 8)` must be writable memory that no Rust reference points to.
#[inline]
unsafe fn write64(addr: usize, v: u64) {
    // SAFETY: the caller guarantees the range is writable and unaliased.
    unsafe { (addr as *mut u64).write_unaligned(v) }
}

/// # Safety
/// `[addr, addr + 4)` must be writable memory that no Rust reference points to.
unsafe fn write32(addr: usize, v: u32) {
    // SAFETY: the caller guarantees the range is writable and unaliased.
    unsafe { (addr as *mut u32).write_unaligned(v) }
}
