//! The running executable's exported symbols, as a symbol source for plugins.
//!
//! glibc puts the executable first in every object's scope, so a plugin may
//! import what a host linked with `-rdynamic` exports (an interpreter's
//! `lua_*` API, a host's callbacks). Owns [`executable_symbols`]: the
//! executable's own `.dynsym`, read once through its dynamic section (GNU or
//! SysV hash, with versions), answering only what it defines. A static-pie has no
//! `PT_PHDR`, so the executable's bias comes from its mapped ELF header; its
//! dynamic section's addresses are taken as the start-up code left them
//! (relocated by glibc, not by musl's static start-up). An executable linked
//! without exports has an empty `.dynsym`: nothing is answered. It does not
//! decide where in a scope the source goes (the load does: after the libraries
//! host providers answer, before the global scope).

use std::path::Path;
use std::sync::{Arc, OnceLock};

use crate::elf::dynamic::{Dynamic, Purpose};
use crate::elf::raw::SHN_ABS;
use crate::map::View;
use crate::options::{Limits, SymbolSource};
use crate::symbols::{self, SymbolName, Versions};

struct Executable {
    dynamic: Dynamic,
    versions: Versions,
    bias: usize,
}

impl SymbolSource for Executable {
    fn lookup(&self, name: &[u8], version: Option<&[u8]>) -> Option<usize> {
        let (_, sym) = symbols::find(
            &self.dynamic,
            &self.versions,
            &SymbolName::with_version(name, version),
        )?;
        Some(if sym.shndx == SHN_ABS.0 {
            sym.value as usize
        } else {
            self.bias.wrapping_add(sym.value as usize)
        })
    }
}

/// The running executable's `.dynsym` as a symbol source, or `None` when it has
/// no dynamic symbol table to read (a non-PIE static executable has none).
///
/// ```
/// // The test executable exports nothing it was not asked to: a name of the
/// // program is not found unless it is linked with `-rdynamic`.
/// let exe = staticdl_loader::executable_symbols();
/// if let Some(exe) = exe {
///     assert!(exe.lookup(b"no_such_symbol_in_this_program", None).is_none());
/// }
/// ```
pub fn executable_symbols() -> Option<Arc<dyn SymbolSource>> {
    static EXE: OnceLock<Option<Arc<dyn SymbolSource>>> = OnceLock::new();
    EXE.get_or_init(read).clone()
}

fn read() -> Option<Arc<dyn SymbolSource>> {
    let exe = crate::runtime::exe::executable();
    if exe.dynamic == 0 || exe.loads.is_empty() {
        return None;
    }
    let path = Path::new("the executable");
    let view = View::of_executable();
    let purpose = Purpose::ExecutableSymbols {
        bias: exe.bias as u64,
    };
    let dynamic =
        Dynamic::read_for(path, view, exe.dynamic_vaddr, &Limits::default(), purpose).ok()?;
    let versions = Versions::read(path, view, &dynamic).ok()?;
    Some(Arc::new(Executable {
        dynamic,
        versions,
        bias: exe.bias,
    }))
}
