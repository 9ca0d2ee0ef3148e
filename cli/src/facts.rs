//! What an object's headers say, read without loading it: `DT_SONAME`,
//! `DT_NEEDED`, the undefined dynamic symbols, `PT_TLS`, `PT_GNU_STACK`, and how
//! many init and fini functions it has. `staticdl inspect` shows them beside the
//! facade's verdict, and they are known even for an object that would not load.
//!
//! Owns [`Facts`], [`HeaderImport`] and [`read`] (through `object`, read-only).
//! It decides nothing about loading; the facade's check does.

use object::elf;
use object::read::elf::{ElfFile64, ProgramHeader, Sym};
use object::read::SymbolIndex;
use object::Endianness;

/// One undefined symbol of the object, as its symbol table lists it.
pub struct HeaderImport {
    pub name: String,
    pub version: Option<String>,
    pub weak: bool,
}

/// What the headers say, without loading.
pub struct Facts {
    pub soname: Option<String>,
    pub needed: Vec<String>,
    /// `None` when the object has no section headers to find `.dynsym` by.
    pub imports: Option<Vec<HeaderImport>>,
    pub tls: bool,
    pub exec_stack: bool,
    pub init_count: u64,
    pub fini_count: u64,
}

/// The facts of the ELF object in `data`, or why its headers cannot be read.
pub fn read(data: &[u8]) -> Result<Facts, String> {
    let file = ElfFile64::<Endianness>::parse(data)
        .map_err(|e| format!("not a 64-bit ELF object: {e}"))?;
    let endian = file.endian();
    let mut tls = false;
    let mut stack = None;
    for ph in file.elf_program_headers() {
        let kind = ph.p_type(endian);
        if kind == elf::PT_TLS {
            tls = true;
        } else if kind == elf::PT_GNU_STACK {
            stack = Some(ph.p_flags(endian).0 & elf::PF_X.0 != 0);
        }
    }
    let dynamic = file
        .elf_dynamic_table()
        .map_err(|e| format!("bad dynamic section: {e}"))?;
    let mut soname = None;
    let mut needed = Vec::new();
    let (mut init_count, mut fini_count) = (0, 0);
    for d in dynamic.iter() {
        let text = || {
            dynamic
                .string(d)
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .unwrap_or_else(|_| "<bad string>".into())
        };
        if d.tag == elf::DT_NEEDED {
            needed.push(text());
        } else if d.tag == elf::DT_SONAME {
            soname = Some(text());
        } else if d.tag == elf::DT_INIT && d.val != 0 {
            init_count += 1;
        } else if d.tag == elf::DT_FINI && d.val != 0 {
            fini_count += 1;
        } else if d.tag == elf::DT_INIT_ARRAYSZ {
            init_count += d.val / 8;
        } else if d.tag == elf::DT_FINI_ARRAYSZ {
            fini_count += d.val / 8;
        }
    }
    Ok(Facts {
        soname,
        needed,
        imports: read_imports(&file),
        tls,
        // No PT_GNU_STACK at all means an executable stack, as for the kernel.
        exec_stack: stack.unwrap_or(true),
        init_count,
        fini_count,
    })
}

fn read_imports(file: &ElfFile64<'_, Endianness>) -> Option<Vec<HeaderImport>> {
    let endian = file.endian();
    let table = file.elf_dynamic_symbol_table();
    if table.is_empty() {
        return if file.elf_section_table().is_empty() {
            None
        } else {
            Some(Vec::new())
        };
    }
    let versions = file
        .elf_section_table()
        .versions(endian, file.data())
        .ok()
        .flatten();
    let mut out = Vec::new();
    for (i, sym) in table.iter().enumerate().skip(1) {
        if !sym.is_undefined(endian) || sym.st_bind() == elf::STB_LOCAL {
            continue;
        }
        let Ok(name) = sym.name(endian, table.strings()) else {
            continue;
        };
        let version = versions.as_ref().and_then(|v| {
            let index = v.version_index(endian, SymbolIndex(i)).index();
            v.version(index)
                .ok()
                .flatten()
                .map(|ver| String::from_utf8_lossy(ver.name()).into_owned())
        });
        out.push(HeaderImport {
            name: String::from_utf8_lossy(name).into_owned(),
            version,
            weak: sym.st_bind() == elf::STB_WEAK,
        });
    }
    Some(out)
}
