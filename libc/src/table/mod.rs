//! The provider's symbol table: which host function or variable answers each
//! glibc name a plugin may import, and how symbol versions are honoured.
//!
//! Owns the entry type and the macros the family files use (`c_library.rs`,
//! `system.rs`, `math.rs`: the host C library's and compiler's own functions
//! under their glibc names; `glibc_only.rs`: the C shims of `c/` and the Rust
//! pieces of this crate and of the loader's runtime), the one
//! `(name, address)` table built from them, and the version policy. A name that is not here is not
//! provided: the lookup answers `None` and the load fails naming it. It does not
//! implement anything itself.
//!
//! Referencing a host function here is also what makes the static linker include
//! it in a static host: every entry is a real address of the host's own code.
//!
//! Unsafe code is allowed in this module: the table takes the addresses of the host's C
//! functions and variables through `extern` declarations.
#![allow(unsafe_code)]

use std::sync::OnceLock;

/// Where an entry's address comes from.
#[derive(Clone, Copy)]
enum Target {
    /// A link-time address: a host C function or variable, or a Rust item.
    Addr(*const ()),
    /// An address only known at run time (the loader's runtime hands it out).
    Call(fn() -> usize),
}

/// One glibc name and what answers it.
struct Entry {
    name: &'static str,
    /// The C symbol whose address answers (for entries made by `functions!`
    /// and `variables!`), or `None` for Rust items and run-time addresses.
    host: Option<&'static str>,
    target: Target,
}

// SAFETY: entries hold code and data addresses that are never dereferenced
// through the table; sharing them between threads shares plain numbers.
unsafe impl Sync for Entry {}

impl Entry {
    /// An entry answered by a Rust item or a run-time address.
    const fn new(name: &'static str, target: Target) -> Self {
        Entry {
            name,
            host: None,
            target,
        }
    }

    /// An entry answered by the C symbol `host` (of the host's C library, its
    /// compiler's builtins, or the shims in `c/`).
    const fn c(name: &'static str, host: &'static str, target: Target) -> Self {
        Entry {
            name,
            host: Some(host),
            target,
        }
    }
}

/// Host C functions (or C shims), each answering the glibc name on the left of
/// `=>`, or its own name when there is no arrow. Declared only to take their
/// addresses: the `fn()` signature is never used for a call.
macro_rules! functions {
    ($($name:ident $(=> $target:ident)?),* $(,)?) => {
        &[$(function!($name $(=> $target)?)),*]
    };
}

macro_rules! function {
    ($name:ident) => {
        function!($name => $name)
    };
    ($name:ident => $target:ident) => {
        Entry::c(stringify!($name), stringify!($target), Target::Addr({
            // Only the address is taken: the real signature is declared where
            // a shim calls the function.
            #[allow(clashing_extern_declarations)]
            extern "C" {
                fn $target();
            }
            $target as *const ()
        }))
    };
}

/// Host C variables, as `functions!` does for functions: the glibc name
/// answers with the address of the host's object.
macro_rules! variables {
    ($($name:ident $(=> $target:ident)?),* $(,)?) => {
        &[$(variable!($name $(=> $target)?)),*]
    };
}

macro_rules! variable {
    ($name:ident) => {
        variable!($name => $name)
    };
    ($name:ident => $target:ident) => {
        Entry::c(stringify!($name), stringify!($target), Target::Addr({
            extern "C" {
                static $target: u8;
            }
            &raw const $target as *const ()
        }))
    };
}

// The families, declared after the macros they use.
mod c_library;
mod glibc_only;
mod math;
mod system;

use c_library::*;
use glibc_only::*;
use math::*;
use system::*;

/// Every family, in the order above.
static FAMILIES: &[&[Entry]] = &[
    STRINGS,
    WIDE,
    CTYPE,
    STDLIB,
    STDLIB_RUST,
    STDIO,
    STDIO_DATA,
    FILES,
    PROCESSES,
    TIME,
    TIME_DATA,
    SIGNALS,
    THREADS,
    THREADS_RUST,
    SOCKETS,
    LOCALE,
    SOCKETS_DATA,
    RESOLVER,
    RESOLVER_LIBRESOLV,
    COMPAT_ONLY,
    LIBM,
    LIBM_DATA,
    COMPILER_BUILTINS,
    FLOATN,
    UNWINDER,
    PROCESS_CONTEXT_DATA,
    FORTIFY,
    CXA,
    AFFINITY,
    LOADER,
    GLIBC,
    LOCALE_SHIMS,
    OBSTACK,
    OBSTACK_DATA,
    UCONTEXT,
    REGEX,
    GNU,
    ERROR_DATA,
    FTS,
    RESOLVER_STATE,
];

/// Names only a musl host can answer: glibc 2.36 lacks them (a dynamic glibc
/// host answers them through its own C library, if at all).
#[cfg(target_env = "musl")]
static MUSL_ONLY: &[Entry] = functions! { strlcat, strlcpy };
#[cfg(not(target_env = "musl"))]
static MUSL_ONLY: &[Entry] = &[];

/// `(name, version)` pairs that glibc answers with a different function than
/// the default version of the name.
static VERSIONED: &[(&str, &str, Entry)] = &[
    // The old memcpy tolerated overlap; programs linked against it rely on that.
    ("memcpy", "GLIBC_2.2.5", function!(memcpy => memmove)),
];

/// `(name, version)` pairs whose ABI differs from the host function of that
/// name: compatibility versions glibc keeps for old binaries. Refused, so the
/// load fails naming them instead of calling a function with another contract.
static REFUSED: &[(&str, &str)] = &[
    // The pre-2.3.2 condition variable ABI (another struct layout).
    ("pthread_cond_broadcast", "GLIBC_2.2.5"),
    ("pthread_cond_destroy", "GLIBC_2.2.5"),
    ("pthread_cond_init", "GLIBC_2.2.5"),
    ("pthread_cond_signal", "GLIBC_2.2.5"),
    ("pthread_cond_timedwait", "GLIBC_2.2.5"),
    ("pthread_cond_wait", "GLIBC_2.2.5"),
    // The two-argument affinity calls of glibc 2.3.3.
    ("sched_getaffinity", "GLIBC_2.3.3"),
    ("sched_setaffinity", "GLIBC_2.3.3"),
    // fmemopen before 2.22 had other buffer semantics.
    ("fmemopen", "GLIBC_2.2.5"),
];

/// The table in family order, addresses resolved: built once from the families
/// above (names are unique, so no order is needed to find one; sorting it cost
/// most of a static host's first load).
fn flat() -> &'static [(&'static str, usize)] {
    static FLAT: OnceLock<Vec<(&'static str, usize)>> = OnceLock::new();
    FLAT.get_or_init(|| {
        FAMILIES
            .iter()
            .chain(std::iter::once(&MUSL_ONLY))
            .flat_map(|family| family.iter())
            .map(|e| (e.name, resolve(e.target)))
            .collect()
    })
}

fn resolve(t: Target) -> usize {
    match t {
        Target::Addr(p) => p as usize,
        Target::Call(f) => f(),
    }
}

/// The address that answers `name` at `version` (`None` for an unversioned
/// import), or `None` if the provider does not provide it.
///
/// Versions: `GLIBC_*` and `GCC_*` (libgcc_s) versions resolve to the host's
/// function of that name, except the pairs in `VERSIONED` (answered by another
/// function) and `REFUSED` (an ABI the host does not have); `GLIBC_PRIVATE` and
/// any other version namespace are refused.
pub(crate) fn lookup(name: &[u8], version: Option<&[u8]>) -> Option<usize> {
    lookup_hashed(name, staticdl_loader::gnu_hash(name), version)
}

/// An index over the table by the GNU hash of the names (open
/// addressing, at most half full): a lookup costs one probe or two and one
/// name comparison, where the loader already has the hash. Each slot holds the
/// hash, the entry's position, and whether the name has a version rule.
struct Index {
    slots: Vec<(u32, u32)>,
    special: Vec<bool>,
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let table = flat();
        let size = (table.len() * 2).next_power_of_two().max(16);
        let mut slots = vec![(0u32, u32::MAX); size];
        for (i, (name, _)) in table.iter().enumerate() {
            let h = staticdl_loader::gnu_hash(name.as_bytes());
            let mut at = h as usize & (size - 1);
            while slots[at].1 != u32::MAX {
                at = (at + 1) & (size - 1);
            }
            slots[at] = (h, i as u32);
        }
        let special = table
            .iter()
            .map(|(n, _)| {
                REFUSED.iter().any(|(r, _)| r == n) || VERSIONED.iter().any(|(v, _, _)| v == n)
            })
            .collect();
        Index { slots, special }
    })
}

/// [`lookup`] with the GNU hash of `name` already computed.
pub(crate) fn lookup_hashed(name: &[u8], gnu: u32, version: Option<&[u8]>) -> Option<usize> {
    if let Some(v) = version {
        if v == b"GLIBC_PRIVATE" || !(v.starts_with(b"GLIBC_") || v.starts_with(b"GCC_")) {
            return None;
        }
    }
    let table = flat();
    let idx = index();
    let mask = idx.slots.len() - 1;
    let mut at = gnu as usize & mask;
    let i = loop {
        let (h, i) = idx.slots[at];
        if i == u32::MAX {
            // Not in the table: only a version rule can still answer it.
            return version.and_then(|v| versioned(name, v));
        }
        if h == gnu && table[i as usize].0.as_bytes() == name {
            break i as usize;
        }
        at = (at + 1) & mask;
    };
    if let (Some(v), true) = (version, idx.special[i]) {
        if REFUSED
            .iter()
            .any(|(n, rv)| n.as_bytes() == name && rv.as_bytes() == v)
        {
            return None;
        }
        if let Some(a) = versioned(name, v) {
            return Some(a);
        }
    }
    Some(table[i].1)
}

/// The function a `VERSIONED` rule answers `name@v` with.
fn versioned(name: &[u8], v: &[u8]) -> Option<usize> {
    VERSIONED
        .iter()
        .find(|(n, rv, _)| n.as_bytes() == name && rv.as_bytes() == v)
        .map(|(_, _, e)| resolve(e.target))
}

/// Every name the table answers, sorted.
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    let mut names: Vec<&'static str> = flat().iter().map(|(n, _)| *n).collect();
    names.sort_unstable();
    names.into_iter()
}

/// Every entry as `(glibc name, host C symbol)`, the symbol `None` where a Rust
/// item or a run-time address answers; in family order.
pub(crate) fn entries() -> impl Iterator<Item = (&'static str, Option<&'static str>)> {
    FAMILIES
        .iter()
        .chain(std::iter::once(&MUSL_ONLY))
        .flat_map(|family| family.iter())
        .map(|e| (e.name, e.host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let names: Vec<&str> = names().collect();
        for w in names.windows(2) {
            assert_ne!(w[0], w[1], "{} is in the table twice", w[0]);
        }
        assert!(names.len() > 1000);
    }

    #[test]
    fn every_entry_has_an_address() {
        for (name, addr) in flat() {
            assert_ne!(*addr, 0, "{name}");
        }
    }

    #[test]
    fn versions_follow_the_policy() {
        let memcpy = lookup(b"memcpy", None).unwrap();
        let memmove = lookup(b"memmove", None).unwrap();
        assert_eq!(lookup(b"memcpy", Some(b"GLIBC_2.14")), Some(memcpy));
        assert_eq!(lookup(b"memcpy", Some(b"GLIBC_2.2.5")), Some(memmove));
        assert_eq!(lookup(b"pthread_cond_wait", Some(b"GLIBC_2.2.5")), None);
        assert!(lookup(b"pthread_cond_wait", Some(b"GLIBC_2.3.2")).is_some());
        assert!(lookup(b"_Unwind_Resume", Some(b"GCC_3.0")).is_some());
        assert_eq!(lookup(b"malloc", Some(b"GLIBC_PRIVATE")), None);
        assert_eq!(lookup(b"malloc", Some(b"OTHERLIB_1.0")), None);
        assert_eq!(lookup(b"no_such_function", None), None);
        assert_eq!(lookup(b"_ITM_registerTMCloneTable", None), None);
        assert_eq!(lookup(b"__gmon_start__", None), None);
    }

    /// Every locale-taking name gets glibc-shaped locales: it is answered by
    /// a shim (which unwraps them) or by a plain function that takes no
    /// locale (the extra argument is ignored), never by the host's own `*_l`.
    #[test]
    fn locale_names_never_reach_the_hosts_locale_functions() {
        let mut checked = 0;
        for (name, host) in entries() {
            let takes_locale = name.ends_with("_l")
                || matches!(
                    name.trim_start_matches('_'),
                    "newlocale" | "duplocale" | "freelocale" | "uselocale" | "nl_langinfo"
                );
            if !takes_locale {
                continue;
            }
            checked += 1;
            let host = host.unwrap_or("");
            assert!(
                host.starts_with("staticdl_") || !host.ends_with("_l"),
                "{name} is answered by the host's {host}"
            );
            if name.trim_start_matches('_').ends_with("locale") {
                assert!(host.starts_with("staticdl_"), "{name} -> {host}");
            }
        }
        assert!(checked > 100, "{checked}");
    }

    #[test]
    fn libgcc_builtins_are_answered() {
        for name in [
            "__udivti3",
            "__udivmodti4",
            "__divti3",
            "__popcountdi2",
            "__mulxc3",
        ] {
            assert!(
                lookup(name.as_bytes(), Some(b"GCC_3.0")).is_some(),
                "{name}"
            );
        }
    }

    #[test]
    fn lfs_names_answer_with_the_plain_functions() {
        for (lfs, plain) in [
            ("open64", "open"),
            ("fstat64", "fstat"),
            ("lseek64", "lseek"),
            ("mmap64", "mmap"),
            ("stat64", "stat"),
        ] {
            assert_eq!(
                lookup(lfs.as_bytes(), Some(b"GLIBC_2.2.5")),
                lookup(plain.as_bytes(), None),
                "{lfs}"
            );
        }
    }
}
