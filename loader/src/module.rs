//! One mapped object: its mapping, dynamic tables, versions and TLS module.
//!
//! Owns [`Module`], the object once mapped and validated. A `Module` is trusted
//! from here on: every table it holds was checked against its own mapping. It does
//! not know its dependencies (the load group does), relocate, or run code (`reloc`
//! and `init` do that).

use std::ffi::CStr;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::elf::dynamic::Dynamic;
use crate::elf::raw::{Sym, SHN_ABS, STT_GNU_IFUNC};
use crate::elf::Image;
use crate::error::{Error, ErrorKind, Result};
use crate::file::{FileId, OpenFile};
use crate::map::{Mapping, View};
use crate::options::Limits;
use crate::symbols::{self, SymbolName, Versions};

/// How many bytes the first read takes: enough for the ELF header and the program
/// headers of ordinary objects, so one `pread` usually suffices.
const HEAD: usize = 1024;

impl Drop for Module {
    fn drop(&mut self) {
        if self.tls_id != 0 {
            // Before the mapping (holding the TLS image) goes: frees every
            // thread's block of this module.
            crate::runtime::tls::unregister(self.tls_id);
        }
    }
}

/// A mapped and validated object.
pub(crate) struct Module {
    pub path: PathBuf,
    /// Whether the object came from a file on disk (not bytes in memory): only
    /// then has it an `$ORIGIN` ([`Module::origin`]).
    pub on_disk: bool,
    pub id: FileId,
    pub image: Image,
    pub dynamic: Dynamic,
    pub versions: Versions,
    pub soname: Option<String>,
    /// Init functions in call order (`DT_INIT`, then `DT_INIT_ARRAY`), filled after
    /// relocation.
    pub init: Vec<usize>,
    /// Fini functions in call order (`DT_FINI_ARRAY` reversed, then `DT_FINI`).
    pub fini: Vec<usize>,
    /// TLS module id (0: the object has no `PT_TLS`).
    pub tls_id: usize,
    /// Declared last: the `Raw` views in `dynamic` point into it.
    pub mapping: Mapping,
}

impl Module {
    /// Parse, validate and map an opened file.
    pub fn map(
        file: &OpenFile,
        limits: &Limits,
        allow_exec_stack: bool,
        reuse: bool,
    ) -> Result<Module> {
        let path = &file.path;
        let head = file.read_at(0, HEAD)?;
        let image = Image::parse(path, &head, file.size, limits, &mut |off, len| {
            let v = file.read_at(off, len)?;
            if v.len() < len {
                return Err(Error::malformed(path, "program headers are truncated", off));
            }
            Ok(v)
        })?;
        if image.exec_stack && !allow_exec_stack {
            return Err(Error::new(path.clone(), ErrorKind::ExecutableStack));
        }
        // Only files on disk: a memory file's identity outlives nothing.
        let reuse = (reuse && file.origin.is_some()).then_some(file.id);
        let mut image = image;
        let mapping = Mapping::new(path, file.fd.as_fd(), &image, reuse)?;
        // The mapping keeps the segments; one copy per object is enough.
        image.loads = Vec::new();
        let view = mapping.view();
        let dynamic = Dynamic::read(path, view, image.dynamic, limits)?;
        let versions = Versions::read(path, view, &dynamic)?;
        let tls_id = match image.tls {
            Some(t) if t.memsz > 0 => {
                let readable = view.readable(t.vaddr, t.filesz);
                let align = t.align.max(1);
                // Every thread's block is one allocation of p_memsz bytes: it must
                // make a valid `Layout` even when the caller lifted the size limit.
                let fits = std::alloc::Layout::from_size_align(t.memsz as usize, 4096).is_ok();
                if !readable || align > 4096 || t.memsz > limits.max_image_size || !fits {
                    return Err(Error::malformed(
                        path,
                        "PT_TLS image does not lie in a loaded segment, or its size or alignment is unreasonable",
                        t.vaddr,
                    ));
                }
                crate::runtime::tls::register(crate::runtime::tls::TlsImage {
                    init: mapping.addr(t.vaddr),
                    filesz: t.filesz as usize,
                    memsz: t.memsz as usize,
                    align: align as usize,
                    static_tpoff: None,
                    installed: false,
                    dynamic_used: false,
                })
            }
            _ => 0,
        };
        let soname = dynamic
            .soname
            .and_then(|o| dynamic.strtab.c_str(o))
            .map(|s| String::from_utf8_lossy(s).into_owned());
        Ok(Module {
            path: path.clone(),
            on_disk: file.origin.is_some(),
            id: file.id,
            image,
            dynamic,
            versions,
            soname,
            init: Vec::new(),
            fini: Vec::new(),
            tls_id,
            mapping,
        })
    }

    /// The checked view of this module's memory.
    pub fn view(&self) -> View<'_> {
        self.mapping.view()
    }

    /// The `DT_NEEDED` names, in order.
    pub fn needed(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.dynamic
            .needed
            .iter()
            .filter_map(|&o| self.dynamic.strtab.c_str(o))
    }

    /// What `$ORIGIN` expands to: the object's directory (`None` for an object
    /// loaded from memory).
    pub fn origin(&self) -> Option<&Path> {
        self.on_disk
            .then(|| self.path.parent().unwrap_or(Path::new("/")))
    }

    /// Look `name` up among this object's own definitions.
    pub fn find(&self, name: &SymbolName<'_>) -> Option<(u32, Sym)> {
        symbols::find(&self.dynamic, &self.versions, name)
    }

    /// The run-time address a definition names (before IFUNC resolution).
    pub fn address_of(&self, sym: &Sym) -> usize {
        if sym.shndx == SHN_ABS.0 {
            sym.value as usize
        } else {
            self.mapping.addr(sym.value)
        }
    }

    /// Whether `sym` is an IFUNC whose resolver lies in this object's code.
    pub fn is_ifunc(&self, sym: &Sym) -> bool {
        sym.kind() == STT_GNU_IFUNC
    }

    /// Size of this object's TLS block (0 without `PT_TLS`).
    pub fn tls_size(&self) -> u64 {
        self.image.tls.map_or(0, |t| t.memsz)
    }

    /// Whether address `addr` lies in one of this object's executable segments.
    pub fn is_code(&self, addr: usize) -> bool {
        let vaddr = addr.wrapping_sub(self.mapping.bias()) as u64;
        self.view().executable(vaddr)
    }

    /// The symbol name at strtab offset `off`, lossily as text.
    pub fn name_of(&self, sym: &Sym) -> String {
        self.dynamic
            .strtab
            .c_str(sym.name)
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .unwrap_or_else(|| "<bad name>".into())
    }

    /// Start address and length of the mapping.
    pub fn range(&self) -> (usize, usize) {
        self.mapping.range()
    }

    /// What the process-wide object list records for this module.
    pub fn object_info(&self) -> crate::runtime::ObjectInfoPub {
        let (start, len) = self.range();
        let (phdr, phnum) = match self.image.phdr {
            Some((a, n)) => (self.mapping.addr(a), n),
            None => (0, 0),
        };
        crate::runtime::ObjectInfoPub {
            start,
            len,
            bias: self.mapping.bias(),
            name: c_name(&self.path),
            phdr,
            phnum,
            tls_id: self.tls_id,
            dynamic: self.mapping.addr(self.image.dynamic.0),
        }
    }
}

/// `path` as the C string debuggers and `dl_iterate_phdr` callers read: its bytes
/// as they are (not made UTF-8), a NUL inside replaced by `?`.
fn c_name(path: &Path) -> Arc<CStr> {
    use std::os::unix::ffi::OsStrExt;
    let mut bytes = Vec::with_capacity(path.as_os_str().len() + 1);
    bytes.extend(
        path.as_os_str()
            .as_bytes()
            .iter()
            .map(|&b| if b == 0 { b'?' } else { b }),
    );
    bytes.push(0);
    match CStr::from_bytes_with_nul(&bytes) {
        Ok(c) => Arc::from(c),
        Err(_) => Arc::from(c""),
    }
}

#[cfg(test)]
mod tests {
    use super::Module;

    #[test]
    fn hashes_read_from_chains_equal_the_names_hashes() {
        // Every definition of the system's own libraries (what the loader
        // relocates most): the chain's hash, where it answers, is the name's.
        use crate::file::OpenFile;
        use crate::symbols::{exported, gnu_hash, hash_from_chain};
        let dir = std::path::Path::new("/lib/x86_64-linux-gnu");
        let mut libs: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().contains(".so"))
            .collect();
        libs.sort();
        let (mut checked, mut answered) = (0usize, 0usize);
        for path in libs.iter().take(40) {
            let Ok(file) = OpenFile::open(path) else {
                continue;
            };
            let Ok(m) = Module::map(&file, &crate::Limits::default(), true, false) else {
                continue;
            };
            let d = &m.dynamic;
            for idx in exported(d) {
                let sym = d.symtab.get(idx as usize).unwrap();
                let name = d.strtab.c_str(sym.name).unwrap();
                checked += 1;
                if let Some(h) = hash_from_chain(d, idx) {
                    answered += 1;
                    assert_eq!(
                        h,
                        gnu_hash(name),
                        "{}: {}",
                        path.display(),
                        String::from_utf8_lossy(name)
                    );
                }
            }
        }
        assert!(checked > 1000, "only {checked} definitions checked");
        assert!(
            answered * 10 > checked * 9,
            "{answered} of {checked} answered"
        );
    }
}
