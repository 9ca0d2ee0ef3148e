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

mod bind;
mod compute;
mod decode;
mod rebind;
mod tls;

pub(crate) use rebind::rebind;

use crate::arch::{Arch, RelocKind};
use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{Error, ErrorKind, MissingSymbol, Result};
use crate::imports::{BindHook, Import};
use crate::map::{Target, View};
use crate::module::Module;
use crate::runtime::stubs::StubLease;
use crate::runtime::TlsIndex;
use crate::scope::{Binding, Scope};

use compute::{compute, width, Refusal, Value};
use decode::{Reloc, Relr};
use tls::is_tls;

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
    recorded: bind::Recorded,
}

/// What a relocation target belongs to, for the error that names it.
#[derive(Clone, Copy)]
enum What {
    /// An entry of `DT_RELR`.
    Relr,
    /// A relocation of this machine's type.
    Type(u32),
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
            recorded: bind::Recorded::new(),
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
            let t = o.target::<A>(offset, 8, What::Relr)?;
            t.write_u64((t.read() as u64).wrapping_add(o.bias));
        }
        for i in 0..r.rela.len() {
            let Some(rela) = r.rela.get(i) else { break };
            // Most entries of a big table are `R_X86_64_RELATIVE`: applied here
            // without the general path (as glibc does for its `DT_RELACOUNT` block).
            if rela.info == u64::from(A::RELATIVE) {
                let t = o.target::<A>(rela.offset, 8, What::Type(A::RELATIVE))?;
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
        let t = o.target::<A>(r.offset, width(kind, A::TLSDESC_SIZE), What::Type(r.r_type))?;
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
        self.apply::<A>(o, r, kind, t, addend, binding)
    }

    /// Write relocation `r` of `kind` at `t` for what its symbol bound to
    /// (`None`: a weak import nobody defines, or a missing one, already
    /// recorded).
    fn apply<A: Arch>(
        &mut self,
        o: &Object<'_>,
        r: Reloc,
        kind: RelocKind,
        t: Target<'_>,
        addend: i64,
        binding: Option<Binding>,
    ) -> Result<()> {
        let s = match (binding, is_tls(kind)) {
            // Nothing to set up for TLS; zero for the rest.
            (None, true) => return Ok(()),
            (None, false) => 0,
            (
                Some(Binding::Tls {
                    module,
                    offset,
                    size,
                    ..
                }),
                true,
            ) => return self.tls::<A>(o, r, kind, t, addend, (module, offset, size)),
            (Some(Binding::Unresolved), _) => return self.unresolved::<A>(o, r, kind, &t, addend),
            (Some(_), true) => return Err(o.not_tls::<A>(r)),
            (Some(Binding::Ifunc(resolver)), false) => {
                self.deferred.push(Deferred {
                    target: t.addr(),
                    resolver,
                    addend,
                    kind,
                });
                return Ok(());
            }
            (Some(Binding::Addr(s)), false) if self.hooks.is_empty() => s,
            (Some(Binding::Addr(s)), false) => self.hooked(o, r, kind, s),
            (Some(Binding::Tls { addr, .. }), false) => addr,
        };
        write::<A>(
            &t,
            compute(kind, s as u64, addend, t.addr() as u64, o.bias),
            o,
            r,
        )
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
    fn target<A: Arch>(&self, vaddr: u64, size: u64, what: What) -> Result<Target<'_>> {
        match self.view.writable_target(vaddr, size) {
            Some(t) => Ok(t),
            None => Err(self.not_writable::<A>(vaddr, what)),
        }
    }

    /// The error for a relocation target outside the writable segments (made
    /// only then: naming the type allocates).
    #[cold]
    fn not_writable<A: Arch>(&self, vaddr: u64, what: What) -> Error {
        let what = match what {
            What::Relr => "DT_RELR".to_string(),
            What::Type(t) => A::name(t),
        };
        Error::malformed(
            &self.m.path,
            format!("{what} target does not lie inside a writable segment"),
            vaddr,
        )
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
}
