//! Machine-specific knowledge, one module per architecture.
//!
//! Owns the [`Arch`] trait: the machine number and page size, how a machine's
//! relocation types map onto the loader's generic [`RelocKind`]s and their names
//! for messages, the TLS descriptor size and the TLS entry points, and the
//! system library directories. Generic code never matches on machine or
//! relocation numbers; it asks the [`Native`] `Arch`. A second architecture is
//! one more module here. It does not apply relocations (that is `reloc`).

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
    /// `R_X86_64_TPOFF64`: the offset of `S + A` from the thread pointer
    /// (initial-exec TLS, placed in the static surplus), 64 bits.
    TpOff,
    /// `R_X86_64_TPOFF32`: the same, 32 bits signed.
    TpOff32,
    /// `R_X86_64_TLSDESC`: a TLS descriptor (resolver, argument).
    TlsDesc,
    /// Another thread-local-storage relocation the loader does not handle.
    Tls,
    /// A type the loader does not know.
    Unknown,
}

/// A machine the loader can relocate for.
pub(crate) trait Arch {
    /// `e_machine` of its objects.
    const MACHINE: u16;
    /// Its name in messages.
    const NAME: &'static str;
    /// The base page size mappings are made in.
    const PAGE_SIZE: u64;
    /// The `R_*_RELATIVE` type number (applied on a fast path).
    const RELATIVE: u32;
    /// Bytes of a TLS descriptor (`R_*_TLSDESC` target).
    const TLSDESC_SIZE: u64;
    /// Where libraries are searched last, in order.
    const SYSTEM_DIRS: &'static [&'static str];
    /// The address of the loader's `__tls_get_addr` entry point.
    fn tls_get_addr() -> usize;
    /// The address of the dynamic TLS descriptor resolver.
    fn tlsdesc_dynamic() -> usize;
    /// The address of the static TLS descriptor resolver: it returns the
    /// descriptor's argument, an offset from the thread pointer.
    fn tlsdesc_static() -> usize;
    /// The calling thread's thread pointer (what `TPOFF` offsets are relative to).
    fn thread_pointer() -> usize;
    /// Bytes between two entries of the stub table.
    const STUB_SIZE: usize;
    /// The address of the stub table's first entry (`runtime::STUBS` entries,
    /// entry `i` jumping through target slot `i` with `i` in a scratch register).
    fn stub_table() -> usize;
    /// The address of the trap a stub may jump to: it reports the stub's symbol
    /// and aborts.
    fn stub_trap() -> usize;
    /// The generic meaning of relocation type `r_type`.
    fn kind(r_type: u32) -> RelocKind;
    /// The psABI's name for `r_type`, or its number.
    fn name(r_type: u32) -> String;
}

/// The architecture this build loads objects for.
#[cfg(target_arch = "x86_64")]
pub(crate) type Native = x86_64::X86_64;

/// `e_machine` of the objects this build loads.
pub(crate) const MACHINE: u16 = <Native as Arch>::MACHINE;
/// The name of this build's architecture, for messages.
pub(crate) const NATIVE_NAME: &str = <Native as Arch>::NAME;
