//! What each relocation kind computes, as a pure function.
//!
//! Owns [`compute`]: the value a relocation of a given [`RelocKind`] stores,
//! from the psABI's operands `S` (symbol address), `A` (addend), `P` (the
//! address being relocated) and `B` (the load bias), with the overflow checks of
//! the narrow kinds, and [`width`], how many bytes each kind writes. It reads and
//! writes nothing; `reloc` applies the value through a checked target.

use crate::arch::RelocKind;

/// A computed relocation value, in the width the kind writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value {
    /// 8 bytes.
    U64(u64),
    /// 4 bytes.
    U32(u32),
}

/// Why a value could not be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The value does not fit the field (a 32-bit reference out of range).
    Overflow,
    /// The kind is not a plain computation (TLS, IFUNC, copy, unknown).
    NotComputable,
}

/// The value relocation `kind` stores, given `S`, `A`, `P` and `B`.
#[inline]
pub(crate) fn compute(kind: RelocKind, s: u64, a: i64, p: u64, b: u64) -> Result<Value, Refusal> {
    let a64 = a as u64;
    Ok(match kind {
        RelocKind::Relative => Value::U64(b.wrapping_add(a64)),
        RelocKind::Absolute => Value::U64(s.wrapping_add(a64)),
        // The addend of GOT and PLT slots is ignored, as glibc does.
        RelocKind::GlobDat | RelocKind::JumpSlot => Value::U64(s),
        RelocKind::Pc64 => Value::U64(s.wrapping_add(a64).wrapping_sub(p)),
        RelocKind::Pc32 => {
            let v = i128::from(s) + i128::from(a) - i128::from(p);
            Value::U32(i32::try_from(v).map_err(|_| Refusal::Overflow)? as u32)
        }
        RelocKind::Abs32 => {
            let v = i128::from(s) + i128::from(a);
            Value::U32(u32::try_from(v).map_err(|_| Refusal::Overflow)?)
        }
        RelocKind::Abs32Signed => {
            let v = i128::from(s) + i128::from(a);
            Value::U32(i32::try_from(v).map_err(|_| Refusal::Overflow)? as u32)
        }
        _ => return Err(Refusal::NotComputable),
    })
}

/// How many bytes a relocation of `kind` writes (`tlsdesc`: the machine's TLS
/// descriptor size).
#[inline]
pub(crate) fn width(kind: RelocKind, tlsdesc: u64) -> u64 {
    match kind {
        RelocKind::None => 0,
        RelocKind::Pc32 | RelocKind::Abs32 | RelocKind::Abs32Signed | RelocKind::TpOff32 => 4,
        RelocKind::TlsDesc => tlsdesc,
        _ => 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: u64 = 0x7f00_0000_0000;

    #[test]
    fn the_64_bit_kinds() {
        assert_eq!(
            compute(RelocKind::Relative, 0, 0x1234, 0, B),
            Ok(Value::U64(B + 0x1234))
        );
        assert_eq!(
            compute(RelocKind::Absolute, 0x5000, -16, 0, B),
            Ok(Value::U64(0x5000 - 16))
        );
        assert_eq!(
            compute(RelocKind::GlobDat, 0x5000, 99, 0, B),
            Ok(Value::U64(0x5000))
        );
        assert_eq!(
            compute(RelocKind::JumpSlot, 0x5000, 99, 0, B),
            Ok(Value::U64(0x5000))
        );
        assert_eq!(
            compute(RelocKind::Pc64, 0x5000, 8, 0x4000, B),
            Ok(Value::U64(0x1008))
        );
        // Wrapping, as the machine's arithmetic does.
        assert_eq!(
            compute(RelocKind::Pc64, 0x1000, 0, 0x2000, B),
            Ok(Value::U64(0x1000u64.wrapping_sub(0x2000)))
        );
    }

    #[test]
    fn the_32_bit_kinds_check_their_range() {
        assert_eq!(
            compute(RelocKind::Pc32, 0x1000, -4, 0x2000, B),
            Ok(Value::U32((-0x1004i32) as u32))
        );
        assert_eq!(
            compute(RelocKind::Pc32, 0x1_0000_0000, 0, 0, B),
            Err(Refusal::Overflow)
        );
        assert_eq!(
            compute(RelocKind::Abs32, 0xffff_fff0, 15, 0, B),
            Ok(Value::U32(0xffff_ffff))
        );
        assert_eq!(
            compute(RelocKind::Abs32, 0xffff_fff0, 16, 0, B),
            Err(Refusal::Overflow)
        );
        assert_eq!(
            compute(RelocKind::Abs32Signed, 0x10, -0x20, 0, B),
            Ok(Value::U32((-0x10i32) as u32))
        );
        assert_eq!(
            compute(RelocKind::Abs32Signed, 0x8000_0000, 0, 0, B),
            Err(Refusal::Overflow)
        );
    }

    #[test]
    fn other_kinds_are_not_plain_computations() {
        for k in [
            RelocKind::IRelative,
            RelocKind::DtpMod,
            RelocKind::TlsDesc,
            RelocKind::Copy,
            RelocKind::Unknown,
        ] {
            assert_eq!(compute(k, 1, 2, 3, 4), Err(Refusal::NotComputable));
        }
        assert_eq!(width(RelocKind::Pc32, 16), 4);
        assert_eq!(width(RelocKind::TlsDesc, 16), 16);
        assert_eq!(width(RelocKind::Absolute, 16), 8);
        assert_eq!(width(RelocKind::None, 16), 0);
    }
}
