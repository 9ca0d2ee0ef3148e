//! Symbol scopes: the ordered list of places an import is looked up in.
//!
//! Owns [`Scope`], built once per load in glibc's order for `dlopen`: host symbols
//! asked first, the global scope, the loaded object's breadth-first dependency list
//! (virtual libraries from providers at their place in it), then host symbols asked
//! last. It answers a name with a [`Binding`]; it does not write anything.

use std::sync::Arc;

use crate::elf::raw::{Sym, STT_TLS};
use crate::module::Module;
use crate::options::SymbolSource;
use crate::symbols::SymbolName;

/// Which object a binding came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    /// A module of the group being loaded, by index.
    New(usize),
    /// A module loaded before, by index into the load's list of loaded handles.
    Loaded(usize),
    /// A host symbol source.
    Host,
}

/// One place in a scope.
pub(crate) enum Entry<'a> {
    /// An ELF object.
    Module(&'a Module, Owner),
    /// A host symbol source, and what it is (for import reports).
    Source(&'a Arc<dyn SymbolSource>, Source),
}

/// What a host symbol source in a scope is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// A source the host passed in its options.
    Host,
    /// A library a host provider answers a `DT_NEEDED` name with.
    Provided(String),
    /// The executable's own exported symbols.
    Executable,
    /// The loader's own ABI symbols.
    Loader,
}

/// What a name resolved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Binding {
    /// A plain address.
    Addr(usize),
    /// An IFUNC: the address of its resolver, which lies in its object's code and
    /// is called once everything is relocated.
    Ifunc(usize),
    /// A thread-local symbol: its object's TLS module id (0 if the object has no
    /// `PT_TLS`), its offset in the block, and the block's size.
    Tls {
        /// The defining object's TLS module id.
        module: usize,
        /// `st_value`: the offset inside the block.
        offset: u64,
        /// The size of the block (`p_memsz` of its `PT_TLS`).
        size: u64,
        /// `B + st_value`, what a non-TLS relocation against the symbol gets (as
        /// glibc computes it).
        addr: usize,
    },
    /// A strong import nothing in scope defines, under the policy that traps
    /// calls of such functions (`LoadOptions::trap_unresolved`): each relocation
    /// decides whether it can be trapped (a function) or must fail (data).
    Unresolved,
}

/// An IFUNC whose resolver does not lie in its object's code: never called.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BadIfunc;

impl Binding {
    /// The binding of definition `sym` in module `m`.
    pub fn of(m: &Module, sym: &Sym) -> Result<Binding, BadIfunc> {
        let addr = m.address_of(sym);
        if sym.kind() == STT_TLS {
            return Ok(Binding::Tls {
                module: m.tls_id,
                offset: sym.value,
                size: m.tls_size(),
                addr,
            });
        }
        if m.is_ifunc(sym) {
            return if m.is_code(addr) {
                Ok(Binding::Ifunc(addr))
            } else {
                Err(BadIfunc)
            };
        }
        Ok(Binding::Addr(addr))
    }
}

/// An ordered lookup scope.
#[derive(Default)]
pub(crate) struct Scope<'a> {
    pub entries: Vec<Entry<'a>>,
}

impl<'a> Scope<'a> {
    /// Append a module unless it is already in the scope.
    pub fn push_module(&mut self, m: &'a Module, owner: Owner) {
        if !self
            .entries
            .iter()
            .any(|e| matches!(e, Entry::Module(x, _) if std::ptr::eq(*x, m)))
        {
            self.entries.push(Entry::Module(m, owner));
        }
    }

    /// Append a host source unless it is already in the scope.
    pub fn push_source(&mut self, s: &'a Arc<dyn SymbolSource>, what: Source) {
        if !self
            .entries
            .iter()
            .any(|e| matches!(e, Entry::Source(x, _) if Arc::ptr_eq(x, s)))
        {
            self.entries.push(Entry::Source(s, what));
        }
    }

    /// The first definition of `name` in scope order, where it is, and the index
    /// of the scope entry that defines it.
    pub fn lookup(
        &self,
        name: &SymbolName<'_>,
    ) -> Option<(Result<Binding, BadIfunc>, Owner, usize)> {
        for (i, e) in self.entries.iter().enumerate() {
            match e {
                Entry::Module(m, owner) => {
                    if let Some((_, sym)) = m.find(name) {
                        return Some((Binding::of(m, &sym), *owner, i));
                    }
                }
                Entry::Source(s, _) => {
                    if let Some(addr) = s.lookup_name(name) {
                        return Some((Ok(Binding::Addr(addr)), Owner::Host, i));
                    }
                }
            }
        }
        None
    }
}
