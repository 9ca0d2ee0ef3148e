//! Thread-local storage relocations: module ids, offsets, descriptors and
//! initial-exec offsets from the thread pointer.
//!
//! Owns the [`Relocator`]'s TLS side: `R_X86_64_DTPMOD64`, `DTPOFF64`, `TLSDESC`
//! (a dynamic descriptor, or a static one for a block in the surplus) and
//! `TPOFF64`/`TPOFF32` (which place the defining module's block in the static
//! surplus), each checked against the defining module's block, and the errors
//! that say why a TLS request cannot be honoured. It does not allocate blocks
//! (`runtime::tls` and `runtime::static_tls` do).

use super::decode::Reloc;
use super::{Object, Relocator};
use crate::arch::{Arch, RelocKind};
use crate::error::{Error, ErrorKind, Result};
use crate::map::Target;
use crate::runtime::tls::{self, StaticError};
use crate::runtime::{ReserveError, TlsIndex};

impl Relocator<'_, '_> {
    /// `R_X86_64_DTPMOD64`, `R_X86_64_DTPOFF64` and `R_X86_64_TLSDESC` against
    /// TLS block `(module, offset, size)`.
    pub(super) fn tls<A: Arch>(
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
}

/// Whether `kind` is about a thread-local block.
pub(super) fn is_tls(kind: RelocKind) -> bool {
    matches!(
        kind,
        RelocKind::DtpMod
            | RelocKind::DtpOff
            | RelocKind::TlsDesc
            | RelocKind::TpOff
            | RelocKind::TpOff32
    )
}

impl Object<'_> {
    pub(super) fn tls_refused<A: Arch>(&self, r: Reloc) -> Error {
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
    pub(super) fn static_refused(&self, e: StaticError, size: u64, align: u64) -> Error {
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
    pub(super) fn not_tls<A: Arch>(&self, r: Reloc) -> Error {
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
