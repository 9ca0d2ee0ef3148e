//! x86-64 relocation types (System V psABI, AMD64 supplement, table 4.9).
//!
//! Owns the mapping from `R_X86_64_*` numbers to [`RelocKind`] and their names. Types
//! that only appear in relocatable objects or executables (GOT-relative, PLT32,
//! `R_X86_64_COPY`) are either mapped to `Unknown` or refused by the generic code.

use super::{Arch, RelocKind};

/// The x86-64 machine.
pub(crate) struct X86_64;

const NAMES: &[(u32, &str, RelocKind)] = &[
    (0, "R_X86_64_NONE", RelocKind::None),
    (1, "R_X86_64_64", RelocKind::Absolute),
    (2, "R_X86_64_PC32", RelocKind::Pc32),
    (5, "R_X86_64_COPY", RelocKind::Copy),
    (6, "R_X86_64_GLOB_DAT", RelocKind::GlobDat),
    (7, "R_X86_64_JUMP_SLOT", RelocKind::JumpSlot),
    (8, "R_X86_64_RELATIVE", RelocKind::Relative),
    (10, "R_X86_64_32", RelocKind::Abs32),
    (11, "R_X86_64_32S", RelocKind::Abs32Signed),
    (16, "R_X86_64_DTPMOD64", RelocKind::DtpMod),
    (17, "R_X86_64_DTPOFF64", RelocKind::DtpOff),
    (18, "R_X86_64_TPOFF64", RelocKind::TpOff),
    (21, "R_X86_64_DTPOFF32", RelocKind::Tls),
    (23, "R_X86_64_TPOFF32", RelocKind::TpOff),
    (24, "R_X86_64_PC64", RelocKind::Pc64),
    (36, "R_X86_64_TLSDESC", RelocKind::TlsDesc),
    (37, "R_X86_64_IRELATIVE", RelocKind::IRelative),
    (38, "R_X86_64_RELATIVE64", RelocKind::Relative),
];

impl Arch for X86_64 {
    #[inline]
    fn kind(r_type: u32) -> RelocKind {
        // The common types first, without a table walk: this runs per relocation.
        match r_type {
            8 => RelocKind::Relative,
            6 => RelocKind::GlobDat,
            7 => RelocKind::JumpSlot,
            1 => RelocKind::Absolute,
            _ => NAMES
                .iter()
                .find(|e| e.0 == r_type)
                .map_or(RelocKind::Unknown, |e| e.2),
        }
    }

    fn name(r_type: u32) -> String {
        NAMES
            .iter()
            .find(|e| e.0 == r_type)
            .map_or_else(|| format!("type {r_type}"), |e| e.1.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_kinds() {
        assert_eq!(X86_64::kind(8), RelocKind::Relative);
        assert_eq!(X86_64::kind(7), RelocKind::JumpSlot);
        assert_eq!(X86_64::kind(5), RelocKind::Copy);
        assert_eq!(X86_64::kind(999), RelocKind::Unknown);
        assert_eq!(X86_64::name(37), "R_X86_64_IRELATIVE");
        assert_eq!(X86_64::name(999), "type 999");
    }
}
