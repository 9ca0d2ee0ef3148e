//! `staticdl-libc`: glibc's libraries answered by the host's own C library, so ordinary plugins load in a static musl host.
//!
//! A shared object built by gcc or rustc on a glibc system needs `libc.so.6`
//! (and often `libm.so.6`, `libgcc_s.so.1`, `ld-linux-x86-64.so.2`). A static
//! musl host has none of them, and must never map the system's glibc next to
//! its own C library. [`LibcProvider`] answers those `DT_NEEDED` names before
//! any file is searched, with one [`SymbolSource`] backed by a table of the
//! host's own statically linked functions under their glibc names (and the
//! host's compiler builtins under `libgcc_s.so.1`'s), plus the glibc-only
//! pieces written here: the fortified `__*_chk` family, glibc-shaped locale
//! objects for libstdc++ and the `*_l` functions, obstack, ucontext, regex
//! with glibc's types, `__cxa_atexit` / `__cxa_finalize`, `dlopen` and
//! friends, `dl_iterate_phdr`, `_dl_find_object`, ... A name the table does
//! not have is not provided: the load fails naming it; the names refused on
//! purpose, with their reasons, are [`not_provided`].
//!
//! Owns: the table (`table/`), the C and assembly shims (`c/`, built by
//! `build.rs`), the refusals (`excluded.rs`), the exit and fork registries
//! (`cxa.rs`), the `<dlfcn.h>` interface (`dl.rs`), and the small glibc
//! answers (`glibc.rs`). Does not own: thread-local storage and
//! `__cxa_thread_atexit_impl` (the loader's runtime, whose addresses the table
//! hands out), or the decision to use the provider (the host's: pass
//! [`load_options`] or add [`LibcProvider`] to its options).
//!
//! Linking staticdl changes nothing for a host that never loads a plugin:
//! every function here is named `staticdl_*` or is private, except, in a static
//! musl host only, `dl_iterate_phdr`, which until the first load reports exactly
//! what musl's own does (see `dl.rs`), and the compiler-runtime helper
//! `__mulxc3`, defined weak for the host's own `cpowl` (which needs it and
//! which the host's compiler builtins lack).
//!
//! ```no_run
//! use staticdl_libc as provider;
//!
//! // Debian's zlib, in a static musl executable: libc.so.6 comes from the host.
//! let z = provider::namespace().load("/lib/x86_64-linux-gnu/libz.so.1", &provider::load_options())?;
//! let version = z.symbol("zlibVersion").expect("exported");
//! // SAFETY: `const char *zlibVersion(void)`.
//! let version: extern "C" fn() -> *const std::ffi::c_char = unsafe { std::mem::transmute(version.as_ptr()) };
//! println!("{:?}", unsafe { std::ffi::CStr::from_ptr(version()) });
//! # Ok::<(), staticdl_loader::Error>(())
//! ```
//!
#![doc = include_str!("../README.md")]
#![deny(unsafe_code, unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, clippy::undocumented_unsafe_blocks)]

mod affinity;
mod cxa;
mod dl;
mod excluded;
mod glibc;
mod intercept;
mod objects;
mod table;

use std::sync::{Arc, OnceLock};

use staticdl_loader::{LibraryProvider, LoadOptions, Namespace, SymbolSource};

/// The process namespace: every object loaded through this crate (and through
/// the `staticdl` facade, which shares it) lives here, so a plugin's `dlopen` of a
/// file the host opened gets that very object.
static NS: Namespace = Namespace::new();

pub use glibc::CLAIMED_GLIBC_VERSION;
pub use intercept::set_export_filter;

/// The `DT_NEEDED` names [`LibcProvider`] answers: glibc's libraries (its
/// libpthread, libdl, librt and libutil are empty shells since 2.34 and map to
/// the same table; its resolver `libresolv.so.2` is in the host's C library),
/// `libgcc_s.so.1` (the unwinder and the compiler's builtins), the dynamic
/// loader (for `__tls_get_addr` and `_dl_find_object`), and musl's `libc.so`.
pub const PROVIDED_LIBRARIES: &[&str] = &[
    "libc.so.6",
    "libm.so.6",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
    "libutil.so.1",
    "ld-linux-x86-64.so.2",
    "libgcc_s.so.1",
    "libresolv.so.2",
    "libc.so",
];

/// Answers [`PROVIDED_LIBRARIES`] with the host's own C library, unwinder and
/// dynamic-loader interface (see the module documentation).
///
/// ```
/// use staticdl_loader::LibraryProvider;
/// use staticdl_libc::LibcProvider;
///
/// let libc = LibcProvider.provide("libc.so.6").expect("provided");
/// assert!(libc.lookup(b"malloc", Some(b"GLIBC_2.2.5")).is_some());
/// assert!(libc.lookup(b"no_such_function", None).is_none());
/// assert!(LibcProvider.provide("libz.so.1").is_none());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct LibcProvider;

impl LibraryProvider for LibcProvider {
    fn provide(&self, name: &str) -> Option<Arc<dyn SymbolSource>> {
        PROVIDED_LIBRARIES.contains(&name).then(source)
    }
}

/// The one source every provided library shares (so a load's scope holds it
/// once, however many of the names an object needs).
fn source() -> Arc<dyn SymbolSource> {
    static SOURCE: OnceLock<Arc<dyn SymbolSource>> = OnceLock::new();
    SOURCE
        .get_or_init(|| Arc::new(LibcSymbols) as Arc<dyn SymbolSource>)
        .clone()
}

/// The provider's symbols as a [`SymbolSource`].
struct LibcSymbols;

impl SymbolSource for LibcSymbols {
    fn lookup(&self, name: &[u8], version: Option<&[u8]>) -> Option<usize> {
        symbol(name, version)
    }

    fn lookup_name(&self, name: &staticdl_loader::SymbolName<'_>) -> Option<usize> {
        table::lookup_hashed(name.name(), name.gnu_hash(), name.version())
            .or_else(|| host_fallback(name.name(), name.version()))
    }
}

/// The address the provider gives an import of `name` at `version`, or `None`
/// if it does not provide it.
///
/// In a dynamically linked glibc host, a name the table does not answer is asked
/// of the process's own glibc (`dlvsym`), which is already mapped and has every
/// glibc ABI, compatibility versions included; in a musl host the table is all
/// there is.
///
/// ```
/// use staticdl_libc::symbol;
///
/// assert!(symbol(b"memcpy", Some(b"GLIBC_2.14")).is_some());
/// // The old memcpy tolerated overlapping buffers: it is answered by memmove.
/// assert_eq!(symbol(b"memcpy", Some(b"GLIBC_2.2.5")), symbol(b"memmove", None));
/// assert!(symbol(b"no_such_function", None).is_none());
/// ```
pub fn symbol(name: &[u8], version: Option<&[u8]>) -> Option<usize> {
    table::lookup(name, version).or_else(|| host_fallback(name, version))
}

#[cfg(target_env = "gnu")]
// Unsafe: asks the process's glibc (`dlsym`/`dlvsym` with C strings).
#[allow(unsafe_code)]
fn host_fallback(name: &[u8], version: Option<&[u8]>) -> Option<usize> {
    use std::ffi::CString;
    if version.is_some_and(|v| v == b"GLIBC_PRIVATE" || !v.starts_with(b"GLIBC_")) {
        return None;
    }
    // Loader-private entry points of glibc would act on glibc's own link maps,
    // which know nothing of objects staticdl mapped.
    if name.starts_with(b"_dl_") || name.starts_with(b"__libc_dl") {
        return None;
    }
    let cname = CString::new(name).ok()?;
    // SAFETY: NUL-terminated strings; RTLD_DEFAULT searches the process's
    // global scope, which glibc's loader owns.
    let p = unsafe {
        match version {
            Some(v) => {
                let cv = CString::new(v).ok()?;
                libc::dlvsym(libc::RTLD_DEFAULT, cname.as_ptr(), cv.as_ptr())
            }
            None => libc::dlsym(libc::RTLD_DEFAULT, cname.as_ptr()),
        }
    };
    (!p.is_null()).then_some(p as usize)
}

#[cfg(not(target_env = "gnu"))]
fn host_fallback(_name: &[u8], _version: Option<&[u8]>) -> Option<usize> {
    None
}

/// What a plugin's `dlsym(RTLD_DEFAULT, name)` finds: the provider's answer
/// for `name` (the host's C library), else the first loaded object, in load
/// order, that defines it. C hosts linking `libstaticdl.a` search the global
/// scope with it too.
///
/// ```
/// use staticdl_libc::{default_symbol, symbol};
///
/// assert_eq!(default_symbol(b"malloc", None), symbol(b"malloc", None));
/// assert!(default_symbol(b"no_such_function", None).is_none());
/// ```
pub fn default_symbol(name: &[u8], version: Option<&[u8]>) -> Option<usize> {
    dl::default_lookup(name, version)
}

/// The directories of `LD_LIBRARY_PATH` (empty entries skipped), read once as
/// glibc reads them at start-up: where a plugin's `dlopen` of a bare name looks
/// after the caller's `DT_RPATH` and before its `DT_RUNPATH`.
///
/// ```
/// let dirs = staticdl_libc::library_path();
/// assert!(dirs.iter().all(|d| !d.as_os_str().is_empty()));
/// ```
pub fn library_path() -> &'static [std::path::PathBuf] {
    dl::library_path()
}

/// Every name the provider's table answers, sorted (in a glibc host the
/// process's glibc may answer more).
///
/// ```
/// assert!(staticdl_libc::provided_names().any(|n| n == "__snprintf_chk"));
/// ```
pub fn provided_names() -> impl Iterator<Item = &'static str> {
    table::names()
}

/// Every entry of the provider's table as `(glibc name, host symbol)`: the C
/// symbol of the host's C library, its compiler builtins or the provider's C
/// shims (named `staticdl_*`) whose address answers the name, or `None` where
/// a Rust item or the loader's runtime answers; each name once. This is what a
/// coverage check compares with the C libraries' own symbol tables.
///
/// ```
/// let answers: Vec<_> = staticdl_libc::provided_symbols().collect();
/// assert!(answers.contains(&("__newlocale", Some("staticdl_newlocale"))));
/// assert!(answers.contains(&("malloc", Some("malloc"))));
/// assert!(answers.contains(&("__cxa_atexit", None)));
/// ```
pub fn provided_symbols() -> impl Iterator<Item = (&'static str, Option<&'static str>)> {
    table::entries()
}

/// The names the provider refuses on purpose although the host's C library
/// defines them, each with the reason (a stub that reports nothing or success,
/// another ABI, or a part of the process no plugin may drive), sorted by name.
///
/// ```
/// let refused: Vec<_> = staticdl_libc::not_provided().collect();
/// assert!(refused.iter().any(|(name, _)| *name == "getutent"));
/// assert!(staticdl_libc::provided_names().all(|name| name != "getutent"));
/// ```
pub fn not_provided() -> impl Iterator<Item = (&'static str, &'static str)> {
    excluded::NOT_PROVIDED.iter().copied()
}

/// Load options for a plugin that needs the C library: [`with_provider`] applied
/// to the defaults. The options `dlopen` calls from plugins use, with `global` set
/// from `RTLD_GLOBAL`.
///
/// ```
/// let opts = staticdl_libc::load_options();
/// assert_eq!(opts.providers.len(), 1);
/// assert_eq!(opts.on_unload.len(), 1);
/// ```
pub fn load_options() -> LoadOptions {
    with_provider(LoadOptions::new())
}

/// `options` with what a plugin that needs the C library gets: [`LibcProvider`]
/// (after the caller's own providers, so a host can still answer a library name
/// itself), the process's `argc`/`argv`/`envp` for its initialisers
/// ([`staticdl_loader::runtime::process_args`]), and the unload hook that runs
/// `__cxa_atexit` handlers and drops fork handlers still registered in an object
/// being unmapped. The one place these options are made: the facade calls it too.
///
/// ```
/// let opts = staticdl_libc::with_provider(staticdl_loader::LoadOptions::new().global(true));
/// assert!(opts.global);
/// assert_eq!(opts.providers.len(), 1);
/// ```
pub fn with_provider(options: LoadOptions) -> LoadOptions {
    options
        .provider(LibcProvider)
        .process_args(staticdl_loader::runtime::process_args())
        .on_unload(cxa::on_unload)
}

/// The namespace plugins' `dlopen` calls load into: the facade's own, so a
/// plugin that opens a file `Plugin::open` already opened gets that object.
///
/// ```
/// let loaded = staticdl_libc::namespace().loaded();
/// assert!(loaded.is_empty());
/// ```
pub fn namespace() -> &'static Namespace {
    &NS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provided_library_shares_one_source() {
        let a = LibcProvider.provide("libc.so.6").unwrap();
        let b = LibcProvider.provide("libgcc_s.so.1").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(LibcProvider.provide("libstdc++.so.6").is_none());
    }

    #[test]
    fn loader_runtime_entries_come_from_the_loader() {
        assert_eq!(
            symbol(b"__tls_get_addr", Some(b"GLIBC_2.3")),
            Some(staticdl_loader::runtime::tls_get_addr_address())
        );
        assert_eq!(
            symbol(b"__cxa_thread_atexit_impl", Some(b"GLIBC_2.18")),
            Some(staticdl_loader::runtime::cxa_thread_atexit_impl_address())
        );
    }
}
