//! `staticdl-loader`: an ELF loader that works inside fully static binaries.
//!
//! It does what `ld.so` does for `dlopen(RTLD_NOW)`, without libc's loader: it maps
//! an x86-64 shared object and its dependencies, applies their relocations
//! (`DT_RELA`, `DT_REL`, `DT_RELR`, `DT_JMPREL`, IFUNCs), resolves their symbols
//! through GNU or SysV hash tables with symbol versions, makes RELRO read-only and
//! runs their initialisers in dependency order. Everything is checked against the
//! file and the mapping before it is written or executed; bad input is an [`Error`],
//! never a crash, and a failed load leaves nothing mapped.
//!
//! Syscalls go through `rustix` (its raw Linux backend), so the crate works the same
//! in a static musl binary, a glibc binary, or a program with no libc at all.
//!
//! ```no_run
//! use staticdl_loader::{LoadOptions, Namespace};
//!
//! static NS: Namespace = Namespace::new();
//!
//! // Answer the plugin's import `host_add` from the host.
//! extern "C" fn host_add(a: i32, b: i32) -> i32 { a + b }
//! let opts = LoadOptions::new().host_symbols(|name: &[u8], _version: Option<&[u8]>| {
//!     (name == b"host_add").then_some(host_add as usize)
//! });
//! let lib = NS.load("/opt/plugins/libhello.so", &opts)?;
//! let f = lib.symbol("hello_twice").expect("exported");
//! // SAFETY: the plugin documents `hello_twice` as `int hello_twice(int)`.
//! let f: extern "C" fn(i32) -> i32 = unsafe { std::mem::transmute(f.as_ptr()) };
//! println!("{}", f(21));
//! drop(lib); // last handle: fini functions run, the object is unmapped
//! # Ok::<(), staticdl_loader::Error>(())
//! ```
//!
//! What is handled and what is refused is listed in the crate's README.

#![deny(unsafe_code, unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, clippy::undocumented_unsafe_blocks)]

mod arch;
mod deps;
pub(crate) mod elf;
mod error;
mod exe_symbols;
mod file;
mod group;
mod imports;
mod init;
mod library;
mod load;
mod map;
mod module;
mod namespace;
mod options;
mod path;
mod reloc;
pub mod runtime;
mod scope;
mod symbols;

pub use deps::SYSTEM_DIRS;
pub use error::{Error, ErrorKind, MissingSymbol, Result};
pub use exe_symbols::executable_symbols;
pub use file::FileId;
pub use imports::{BindHook, BindRequest, BoundTo, Import, SlotKind};
pub use library::{Dependency, Library};
pub use map::release_closed_mappings;

/// How many closed objects' reservations are kept for reuse at most (see
/// [`LoadOptions::reuse_mappings`]).
///
/// ```
/// assert!(staticdl_loader::KEPT_CLOSED >= 1);
/// ```
pub const KEPT_CLOSED: usize = map::REUSE_SLOTS;
pub use namespace::Namespace;
pub use options::{LibraryProvider, Limits, LoadOptions, ProcessArgs, SymbolSource, UnloadHook};
pub use path::canonicalize;
pub use symbols::{gnu_hash, sysv_hash, SymbolName};
