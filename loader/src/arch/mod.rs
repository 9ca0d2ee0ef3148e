//! Machine-specific knowledge, one module per architecture.
//!
//! Owns the [`Arch`] trait: how a machine's relocation types map onto the loader's
//! generic [`RelocKind`]s, and their names for messages. Generic code never matches
//! on machine or relocation numbers; it asks the `Arch` of the object. It does not
//! apply relocations (that is `reloc`).

pub(crate) mod x86_64;

/// What a relocation asks the loader to compute, independent of the machine.
///
/// `S` is the symbol's address, `A` the addend, `B` the load bias, `P` the address
/// being relocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RelocKind {
    /// Nothing to do.
    None,
    /// `B + A`, 64 bits.
    Relative,
    /// `S + A`, 64 bits.
    Absolute,
    /// `S` (the addend is ignored, as glibc does), 64 bits: GOT entries.
    GlobDat,
    /// `S`, 64 bits: PLT slots, bound eagerly.
    JumpSlot,
    /// `S + A - P`, 32 bits signed.
    Pc32,
    /// `S + A - P`, 64 bits.
    Pc64,
    /// `S + A`, 32 bits unsigned.
    Abs32,
    /// `S + A`, 32 bits signed.
    Abs32Signed,
    /// Call the resolver at `B + A` and store its result, after everything else.
    IRelative,
    /// Copy relocation: refused (they belong to executables).
    Copy,
    /// `R_X86_64_DTPMOD64`: the TLS module id of `S`'s object.
    DtpMod,
    /// `R_X86_64_DTPOFF64`: `S + A` as an offset in its TLS block.
    DtpOff,
    /// Static-TLS offset from the thread pointer (initial-exec): refused.
    TpOff,
    /// `R_X86_64_TLSDESC`: a TLS descriptor (resolver, argument).
    TlsDesc,
    /// Another thread-local-storage relocation the loader does not handle.
    Tls,
    /// A type the loader does not know.
    Unknown,
}

/// A machine the loader can relocate for.
pub(crate) trait Arch {
    /// The generic meaning of relocation type `r_type`.
    fn kind(r_type: u32) -> RelocKind;
    /// The psABI's name for `r_type`, or its number.
    fn name(r_type: u32) -> String;
}

/// The architecture this build loads objects for.
#[cfg(target_arch = "x86_64")]
pub(crate) type Native = x86_64::X86_64;
