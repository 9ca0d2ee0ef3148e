//! Which calls to trap: [`Imports`] (an object's bindings of the symbols it
//! imports) and [`Exports`] (the functions an object defines), by symbol
//! pattern, object pattern and slot kind.
//!
//! Owns the selections and their glob patterns (`*` any run of bytes, `?` one
//! byte, everything else itself). Plain data with pure matching: it does not
//! trap anything (`bind.rs`, `attach.rs`, `exports.rs` do).

use std::path::Path;

use staticdl_loader::SlotKind;

/// A glob pattern over bytes: `*` matches any run, `?` one byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern(Vec<u8>);

impl Pattern {
    pub fn new(p: &str) -> Self {
        Pattern(p.as_bytes().to_vec())
    }

    /// Whether `text` matches (iterative, with one backtrack point: linear in
    /// practice, quadratic at worst).
    pub fn matches(&self, text: &[u8]) -> bool {
        let p = &self.0;
        let (mut i, mut j) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while j < text.len() {
            if i < p.len() && (p[i] == b'?' || p[i] == text[j]) {
                i += 1;
                j += 1;
            } else if i < p.len() && p[i] == b'*' {
                star = Some((i, j));
                i += 1;
            } else if let Some((si, sj)) = star {
                i = si + 1;
                j = sj + 1;
                star = Some((si, sj + 1));
            } else {
                return false;
            }
        }
        p[i..].iter().all(|&c| c == b'*')
    }

    /// Whether the object at `path` matches: a pattern with a `/` is matched
    /// against the whole path, any other against the file name.
    pub fn matches_object(&self, path: &Path) -> bool {
        let whole = path.as_os_str().as_encoded_bytes();
        if self.0.contains(&b'/') {
            return self.matches(whole);
        }
        let name = path.file_name().map_or(whole, |n| n.as_encoded_bytes());
        self.matches(name)
    }
}

/// An object's imports to trap: the bindings of matching symbols, written while
/// it is relocated (or rewritten when attaching), so no code is patched.
///
/// By default only PLT slots (`R_X86_64_JUMP_SLOT`: calls through the PLT);
/// [`got`](Imports::got) adds GOT entries (`R_X86_64_GLOB_DAT`: calls compiled
/// with `-fno-plt`, and the address the object takes of the function) and
/// [`pointers`](Imports::pointers) 64-bit pointers in data (`R_X86_64_64`:
/// function tables). Bindings to IFUNCs the object itself defines are resolved
/// after relocation and are not trapped.
///
/// ```
/// use staticdl::intercept::Imports;
/// let every_call = Imports::matching("*");
/// let allocation = Imports::matching("*alloc").got(true).in_objects("libz.so*");
/// # drop((every_call, allocation));
/// ```
#[derive(Debug, Clone)]
pub struct Imports {
    pub(crate) symbols: Pattern,
    pub(crate) objects: Option<Pattern>,
    pub(crate) got: bool,
    pub(crate) pointers: bool,
}

impl Imports {
    /// Imports whose symbol name matches the glob `pattern` (`*`, `?`).
    pub fn matching(pattern: &str) -> Self {
        Imports {
            symbols: Pattern::new(pattern),
            objects: None,
            got: false,
            pointers: false,
        }
    }

    /// The import named exactly `name`.
    pub fn named(name: &str) -> Self {
        Imports {
            symbols: Pattern(name.as_bytes().to_vec()),
            ..Self::matching("")
        }
    }

    /// Only in objects whose file name (or, for a pattern with a `/`, whole
    /// path) matches `pattern`; by default every object of the load.
    pub fn in_objects(mut self, pattern: &str) -> Self {
        self.objects = Some(Pattern::new(pattern));
        self
    }

    /// Also GOT entries (`R_X86_64_GLOB_DAT`) of matching function imports.
    pub fn got(mut self, yes: bool) -> Self {
        self.got = yes;
        self
    }

    /// Also 64-bit pointers (`R_X86_64_64`) to matching functions.
    pub fn pointers(mut self, yes: bool) -> Self {
        self.pointers = yes;
        self
    }

    /// Whether the binding `symbol` of kind `slot` in `importer` is selected.
    pub(crate) fn selects(&self, importer: &Path, symbol: &[u8], slot: SlotKind) -> bool {
        let kind_ok = match slot {
            SlotKind::Plt => true,
            SlotKind::Got => self.got,
            SlotKind::Pointer => self.pointers,
            _ => false,
        };
        kind_ok
            && self.symbols.matches(symbol)
            && self
                .objects
                .as_ref()
                .is_none_or(|o| o.matches_object(importer))
    }
}

/// An object's exports to trap: the addresses `Plugin::get`,
/// `Plugin::symbol`, `Plugin::symbol_address` and plugins' `dlsym` hand out for
/// them become stubs, and so do the bindings of objects loaded later to them.
///
/// Only functions may be selected: an export that is data must not be.
///
/// ```
/// use staticdl::intercept::Exports;
/// let one = Exports::named("hello_handler");
/// let handlers = Exports::handlers(); // declared with the HTTP handler signature
/// # drop((one, handlers));
/// ```
#[derive(Debug, Clone)]
pub struct Exports {
    pub(crate) symbols: Pattern,
    pub(crate) objects: Option<Pattern>,
    /// Only exports the descriptor declares with this signature.
    pub(crate) signature: Option<String>,
}

impl Exports {
    /// Exports whose name matches the glob `pattern`.
    pub fn matching(pattern: &str) -> Self {
        Exports {
            symbols: Pattern::new(pattern),
            objects: None,
            signature: None,
        }
    }

    /// The export named exactly `name`.
    pub fn named(name: &str) -> Self {
        Exports {
            symbols: Pattern(name.as_bytes().to_vec()),
            objects: None,
            signature: None,
        }
    }

    /// The exports a plugin's `STATICDL_PLUGIN` descriptor declares with the
    /// HTTP handler signature ([`staticdl_abi::HANDLER_SIGNATURE`]).
    pub fn handlers() -> Self {
        Self::declared_with(staticdl_abi::HANDLER_SIGNATURE)
    }

    /// The exports the plugin's descriptor declares with `signature` (in the
    /// canonical form of [`ExportDecl::signature`](crate::ExportDecl::signature)).
    pub fn declared_with(signature: &str) -> Self {
        Exports {
            symbols: Pattern::new("*"),
            objects: None,
            signature: Some(signature.to_owned()),
        }
    }

    /// Only in objects whose file name (or whole path, for a pattern with a
    /// `/`) matches `pattern`.
    pub fn in_objects(mut self, pattern: &str) -> Self {
        self.objects = Some(Pattern::new(pattern));
        self
    }
}

/// Imports or exports: what [`OpenOptions::intercept`](crate::OpenOptions::intercept),
/// [`attach`](super::attach) and [`register`](super::register) take.
///
/// ```
/// use staticdl::intercept::{Exports, Imports, Selection};
/// let a: Selection = Imports::matching("mem*").into();
/// let b: Selection = Exports::named("add").into();
/// # drop((a, b));
/// ```
#[derive(Debug, Clone)]
pub enum Selection {
    /// See [`Imports`].
    Imports(Imports),
    /// See [`Exports`].
    Exports(Exports),
}

impl From<Imports> for Selection {
    fn from(i: Imports) -> Self {
        Selection::Imports(i)
    }
}

impl From<Exports> for Selection {
    fn from(e: Exports) -> Self {
        Selection::Exports(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_a_shell_does() {
        let m = |p: &str, t: &str| Pattern::new(p).matches(t.as_bytes());
        assert!(m("*", ""));
        assert!(m("*", "malloc"));
        assert!(m("mem*", "memcpy"));
        assert!(!m("mem*", "xmemcpy"));
        assert!(m("*alloc", "calloc"));
        assert!(m("de*Init*_", "deflateInit2_"));
        assert!(m("?alloc", "malloc"));
        assert!(!m("?alloc", "alloc"));
        assert!(m("a*b*c", "aXbYbZc"));
        assert!(!m("a*b*c", "aXbYbZ"));
        assert!(m("time", "time"));
        assert!(!m("time", "times"));
    }

    #[test]
    fn object_patterns_match_the_file_name_or_the_path() {
        let p = Path::new("/usr/lib/x86_64-linux-gnu/libz.so.1");
        assert!(Pattern::new("libz.so*").matches_object(p));
        assert!(!Pattern::new("libz.so").matches_object(p));
        assert!(Pattern::new("/usr/lib/*").matches_object(p));
        assert!(!Pattern::new("/lib/*").matches_object(p));
    }

    #[test]
    fn imports_select_plt_by_default() {
        let i = Imports::matching("time");
        let p = Path::new("/x/libclock.so");
        assert!(i.selects(p, b"time", SlotKind::Plt));
        assert!(!i.selects(p, b"time", SlotKind::Got));
        assert!(i.clone().got(true).selects(p, b"time", SlotKind::Got));
        assert!(!i.selects(p, b"clock_gettime", SlotKind::Plt));
        assert!(!i
            .in_objects("libother.so")
            .selects(p, b"time", SlotKind::Plt));
    }
}
