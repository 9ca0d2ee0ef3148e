//! Imports as the host sees them: where each was bound, and a say in it.
//!
//! Owns [`Import`] and [`BoundTo`]: for each symbol an object imports, whether
//! it was found and in what (another object, a library a host provider answers,
//! the host, the executable, the loader itself), bound to a trap, or left
//! undefined. Recorded only when asked ([`LoadOptions::record_imports`]), which a
//! dry run does to say how an object would load without running it. Also owns
//! [`BindRequest`] and [`BindHook`]: a host function that sees each function
//! binding (PLT slot, GOT entry, code pointer) before it is written and may put
//! another address there (an interceptor's stub), at load time or later through
//! [`Library::rebind`](crate::Library::rebind). It does not resolve anything
//! (`reloc` does).
//!
//! [`LoadOptions::record_imports`]: crate::LoadOptions::record_imports

use std::path::{Path, PathBuf};

/// One symbol an object imports, and where it was bound.
///
/// ```
/// use staticdl_loader::{BoundTo, Import};
/// let i = Import { name: "malloc".into(), version: Some("GLIBC_2.2.5".into()), weak: false, bound: BoundTo::Provided("libc.so.6".into()) };
/// assert_eq!(i.to_string(), "malloc@GLIBC_2.2.5 => libc.so.6 (provided)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// The symbol's name.
    pub name: String,
    /// The version the object asks for, if any.
    pub version: Option<String>,
    /// Whether the import is weak (may stay undefined).
    pub weak: bool,
    /// Where it was bound.
    pub bound: BoundTo,
}

/// Where an import was bound.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BoundTo {
    /// A definition in a loaded object (its path).
    Object(PathBuf),
    /// A library a host provider answers the `DT_NEEDED` name with.
    Provided(String),
    /// A symbol source the host passed in its options.
    Host,
    /// The executable's own exported symbols.
    Executable,
    /// The loader's own ABI (`__tls_get_addr`, `_dl_debug_state`, `_r_debug`).
    Loader,
    /// Nothing defines it; calls of it trap (`LoadOptions::trap_unresolved`).
    Trapped,
    /// A weak import nothing defines: bound to 0.
    WeakUndefined,
    /// A strong import nothing defines: the load fails.
    Missing,
}

impl std::fmt::Display for Import {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)?;
        if let Some(v) = &self.version {
            write!(f, "@{v}")?;
        }
        match &self.bound {
            BoundTo::Object(p) => write!(f, " => {}", p.display()),
            BoundTo::Provided(lib) => write!(f, " => {lib} (provided)"),
            BoundTo::Host => f.write_str(" => the host"),
            BoundTo::Executable => f.write_str(" => the executable"),
            BoundTo::Loader => f.write_str(" => the loader"),
            BoundTo::Trapped => f.write_str(" => unresolved, calls trap"),
            BoundTo::WeakUndefined => f.write_str(" (weak) => unresolved, bound to 0"),
            BoundTo::Missing => f.write_str(" => unresolved"),
        }
    }
}

/// The kind of place a binding is written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlotKind {
    /// A PLT slot (`R_X86_64_JUMP_SLOT`): calls of the import go through it.
    Plt,
    /// A GOT entry (`R_X86_64_GLOB_DAT`): the address of the import, for calls
    /// made without the PLT (`-fno-plt`) and for taking its address.
    Got,
    /// A 64-bit pointer in data (`R_X86_64_64`), such as a function table.
    Pointer,
}

impl SlotKind {
    pub(crate) fn of(kind: crate::arch::RelocKind) -> Option<SlotKind> {
        use crate::arch::RelocKind;
        match kind {
            RelocKind::JumpSlot => Some(SlotKind::Plt),
            RelocKind::GlobDat => Some(SlotKind::Got),
            RelocKind::Absolute => Some(SlotKind::Pointer),
            _ => None,
        }
    }
}

/// A binding about to be written, as a [`BindHook`] sees it.
#[derive(Debug, Clone, Copy)]
pub struct BindRequest<'a> {
    /// The object whose slot is written.
    pub importer: &'a Path,
    /// The symbol's name.
    pub symbol: &'a [u8],
    /// The version the object asks for, if any.
    pub version: Option<&'a [u8]>,
    /// What kind of slot it is.
    pub slot: SlotKind,
    /// The address the symbol resolved to (for a rebind: what the slot holds).
    pub target: usize,
}

/// Sees each function binding before it is written and returns another address
/// to write instead, or `None` to leave it. Hooks run in order; the first that
/// answers wins. Bindings to IFUNCs (resolved after relocation) are not offered.
///
/// ```
/// use std::sync::Arc;
/// use staticdl_loader::{BindHook, BindRequest, LoadOptions};
/// extern "C" fn my_time(_: *mut i64) -> i64 { 1234567890 }
/// let hook: Arc<BindHook> = Arc::new(|b: &BindRequest<'_>| {
///     (b.symbol == b"time").then_some(my_time as extern "C" fn(*mut i64) -> i64 as usize)
/// });
/// let opts = LoadOptions::new().bind_hook(hook);
/// assert_eq!(opts.bind_hooks.len(), 1);
/// ```
pub type BindHook = dyn Fn(&BindRequest<'_>) -> Option<usize> + Send + Sync;
