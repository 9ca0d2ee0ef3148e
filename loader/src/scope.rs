//! Symbol scopes: the ordered list of places an import is looked up in.
//!
//! Owns [`Scope`], built once per load in glibc's order for `dlopen`: host symbols
//! asked first, the global scope, the loaded object's breadth-first dependency list
//! (virtual libraries from providers at their place in it), then host symbols asked
//! last. It answers a name with a [`Binding`]; it does not write anything.

use std::sync::Arc;

use crate::module::Module;
use crate::symbols::SymbolName;
use crate::SymbolSource;

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
    /// A host symbol source (a resolver, or a provided library).
    Source(&'a Arc<dyn SymbolSource>),
}

/// What a name resolved to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Binding {
    /// The address (for an IFUNC: its resolver's address).
    pub addr: usize,
    /// Whether `addr` is an IFUNC resolver that still has to be called.
    pub ifunc: bool,
    /// Where it came from.
    pub owner: Owner,
    /// An IFUNC whose resolver does not lie in its object's code: never called.
    pub bad_ifunc: bool,
    /// For a TLS symbol: the defining object's TLS module id (0 otherwise).
    pub tls_module: usize,
    /// The symbol's raw `st_value` (for TLS: the offset in the module's block).
    pub value: u64,
    /// For a TLS symbol: the size of the defining object's TLS block.
    pub tls_size: u64,
}

impl Binding {
    /// The binding of definition `sym` in module `m`.
    pub fn of(m: &Module, sym: &crate::elf::raw::Sym, owner: Owner) -> Binding {
        let addr = m.address_of(sym);
        let ifunc = m.is_ifunc(sym);
        let tls = sym.kind() == crate::elf::raw::STT_TLS;
        Binding {
            addr,
            ifunc,
            owner,
            bad_ifunc: ifunc && !m.is_code(addr),
            tls_module: if tls { m.tls_id } else { 0 },
            value: sym.value,
            tls_size: m.tls_size(),
        }
    }

    /// A plain address (host symbols, weak zero).
    pub fn address(addr: usize, owner: Owner) -> Binding {
        Binding {
            addr,
            ifunc: false,
            owner,
            bad_ifunc: false,
            tls_module: 0,
            value: addr as u64,
            tls_size: 0,
        }
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
    pub fn push_source(&mut self, s: &'a Arc<dyn SymbolSource>) {
        if !self
            .entries
            .iter()
            .any(|e| matches!(e, Entry::Source(x) if Arc::ptr_eq(x, s)))
        {
            self.entries.push(Entry::Source(s));
        }
    }

    /// The first definition of `name` in scope order.
    pub fn lookup(&self, name: &SymbolName<'_>) -> Option<Binding> {
        for e in &self.entries {
            match e {
                Entry::Module(m, owner) => {
                    if let Some((_, sym)) = m.find(name) {
                        return Some(Binding::of(m, &sym, *owner));
                    }
                }
                Entry::Source(s) => {
                    if let Some(addr) = s.lookup(name.name(), name.version()) {
                        return Some(Binding::address(addr, Owner::Host));
                    }
                }
            }
        }
        None
    }
}
