//! A tiny ELF64 little-endian reader and patcher for the hostile-input tests.
//!
//! Owns: locating the ELF header fields, program headers, section headers, the
//! dynamic section and the tables it names (by file offset, computed as
//! `vaddr - p_vaddr + p_offset` of the `PT_LOAD` that maps them), and writing
//! integers back at those offsets. It trusts its input: it is only ever pointed
//! at well-formed objects built by the test run or shipped by the system, and
//! panics otherwise.
//!
//! Does not own: any validation (that is the loader's job, and the point of the
//! tests), or deciding which bytes to break (the tests do).
#![allow(dead_code)]

use std::ops::Range;

pub const PT_LOAD: u32 = 1;
pub const PT_DYNAMIC: u32 = 2;
pub const PT_INTERP: u32 = 3;
pub const PT_GNU_STACK: u32 = 0x6474_e551;
pub const PT_GNU_RELRO: u32 = 0x6474_e552;

pub const DT_NULL: u64 = 0;
pub const DT_NEEDED: u64 = 1;
pub const DT_PLTRELSZ: u64 = 2;
pub const DT_HASH: u64 = 4;
pub const DT_STRTAB: u64 = 5;
pub const DT_SYMTAB: u64 = 6;
pub const DT_RELA: u64 = 7;
pub const DT_RELASZ: u64 = 8;
pub const DT_STRSZ: u64 = 10;
pub const DT_DEBUG: u64 = 21;
pub const DT_TEXTREL: u64 = 22;
pub const DT_JMPREL: u64 = 23;
pub const DT_INIT_ARRAY: u64 = 25;
pub const DT_INIT_ARRAYSZ: u64 = 27;
pub const DT_RELRSZ: u64 = 35;
pub const DT_RELR: u64 = 36;
pub const DT_GNU_HASH: u64 = 0x6fff_fef5;
pub const DT_VERSYM: u64 = 0x6fff_fff0;
pub const DT_VERDEF: u64 = 0x6fff_fffc;
pub const DT_VERDEFNUM: u64 = 0x6fff_fffd;
pub const DT_VERNEED: u64 = 0x6fff_fffe;
pub const DT_VERNEEDNUM: u64 = 0x6fff_ffff;

/// `e_phoff`, `e_phentsize`, ... : byte offsets of ELF header fields.
pub const E_TYPE: usize = 16;
pub const E_MACHINE: usize = 18;
pub const E_VERSION: usize = 20;
pub const E_PHOFF: usize = 32;
pub const E_SHOFF: usize = 40;
pub const E_PHENTSIZE: usize = 54;
pub const E_PHNUM: usize = 56;

/// Offsets of the fields inside one `Elf64_Phdr`.
pub const P_TYPE: usize = 0;
pub const P_FLAGS: usize = 4;
pub const P_OFFSET: usize = 8;
pub const P_VADDR: usize = 16;
pub const P_FILESZ: usize = 32;
pub const P_MEMSZ: usize = 40;
pub const P_ALIGN: usize = 48;

/// One program header, with the file offset it was read from.
#[derive(Debug, Clone, Copy)]
pub struct Phdr {
    /// File offset of the header itself.
    pub at: usize,
    pub p_type: u32,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
}

/// One section header, with its name.
#[derive(Debug, Clone)]
pub struct Shdr {
    pub name: String,
    pub sh_type: u32,
    pub addr: u64,
    pub offset: u64,
    pub size: u64,
    pub entsize: u64,
}

/// One dynamic entry, with the file offset of the entry.
#[derive(Debug, Clone, Copy)]
pub struct DynEntry {
    pub at: usize,
    pub tag: u64,
    pub val: u64,
}

/// An ELF64 file in memory.
#[derive(Clone)]
pub struct Elf {
    pub data: Vec<u8>,
}

pub fn rd16(d: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(d[at..at + 2].try_into().unwrap())
}
pub fn rd32(d: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(d[at..at + 4].try_into().unwrap())
}
pub fn rd64(d: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(d[at..at + 8].try_into().unwrap())
}

impl Elf {
    pub fn new(data: Vec<u8>) -> Self {
        assert!(
            data.len() >= 64 && data[..4] == *b"\x7fELF",
            "not an ELF file"
        );
        Elf { data }
    }

    pub fn read(path: &std::path::Path) -> Self {
        Self::new(std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
    }

    pub fn u16(&self, at: usize) -> u16 {
        rd16(&self.data, at)
    }
    pub fn u32(&self, at: usize) -> u32 {
        rd32(&self.data, at)
    }
    pub fn u64(&self, at: usize) -> u64 {
        rd64(&self.data, at)
    }
    pub fn set16(&mut self, at: usize, v: u16) {
        self.data[at..at + 2].copy_from_slice(&v.to_le_bytes());
    }
    pub fn set32(&mut self, at: usize, v: u32) {
        self.data[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    pub fn set64(&mut self, at: usize, v: u64) {
        self.data[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }

    pub fn phoff(&self) -> usize {
        self.u64(E_PHOFF) as usize
    }

    pub fn phdrs(&self) -> Vec<Phdr> {
        let off = self.phoff();
        let n = self.u16(E_PHNUM) as usize;
        (0..n)
            .map(|i| {
                let at = off + i * 56;
                Phdr {
                    at,
                    p_type: self.u32(at + P_TYPE),
                    flags: self.u32(at + P_FLAGS),
                    offset: self.u64(at + P_OFFSET),
                    vaddr: self.u64(at + P_VADDR),
                    filesz: self.u64(at + P_FILESZ),
                    memsz: self.u64(at + P_MEMSZ),
                }
            })
            .collect()
    }

    /// The first program header of type `t`.
    pub fn phdr(&self, t: u32) -> Option<Phdr> {
        self.phdrs().into_iter().find(|p| p.p_type == t)
    }

    pub fn loads(&self) -> Vec<Phdr> {
        self.phdrs()
            .into_iter()
            .filter(|p| p.p_type == PT_LOAD)
            .collect()
    }

    /// The file offset of virtual address `vaddr`, if a `PT_LOAD` maps it from the file.
    pub fn off(&self, vaddr: u64) -> Option<usize> {
        self.loads()
            .iter()
            .find(|p| vaddr >= p.vaddr && vaddr < p.vaddr + p.filesz)
            .map(|p| (vaddr - p.vaddr + p.offset) as usize)
    }

    pub fn sections(&self) -> Vec<Shdr> {
        let shoff = self.u64(E_SHOFF) as usize;
        let n = self.u16(60) as usize;
        let strndx = self.u16(62) as usize;
        if shoff == 0 || n == 0 || shoff + n * 64 > self.data.len() {
            return Vec::new();
        }
        let raw = |i: usize| {
            let at = shoff + i * 64;
            (
                self.u32(at),
                self.u32(at + 4),
                self.u64(at + 16),
                self.u64(at + 24),
                self.u64(at + 32),
                self.u64(at + 56),
            )
        };
        let names_off = if strndx < n {
            raw(strndx).3 as usize
        } else {
            0
        };
        (0..n)
            .map(|i| {
                let (name, sh_type, addr, offset, size, entsize) = raw(i);
                let start = names_off + name as usize;
                let name = self
                    .data
                    .get(start..)
                    .and_then(|s| s.iter().position(|&b| b == 0).map(|e| &s[..e]))
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .unwrap_or_default();
                Shdr {
                    name,
                    sh_type,
                    addr,
                    offset,
                    size,
                    entsize,
                }
            })
            .collect()
    }

    pub fn section(&self, name: &str) -> Option<Shdr> {
        self.sections().into_iter().find(|s| s.name == name)
    }

    /// Every entry of `PT_DYNAMIC`, up to and including the first `DT_NULL`.
    pub fn dynamic(&self) -> Vec<DynEntry> {
        let d = self.phdr(PT_DYNAMIC).expect("PT_DYNAMIC");
        let start = d.offset as usize;
        let mut out = Vec::new();
        for i in 0..(d.filesz as usize / 16) {
            let at = start + i * 16;
            let e = DynEntry {
                at,
                tag: self.u64(at),
                val: self.u64(at + 8),
            };
            out.push(e);
            if e.tag == DT_NULL {
                break;
            }
        }
        out
    }

    /// Every entry of `PT_DYNAMIC`, including all trailing `DT_NULL`s.
    pub fn dynamic_all(&self) -> Vec<DynEntry> {
        let d = self.phdr(PT_DYNAMIC).expect("PT_DYNAMIC");
        (0..(d.filesz as usize / 16))
            .map(|i| {
                let at = d.offset as usize + i * 16;
                DynEntry {
                    at,
                    tag: self.u64(at),
                    val: self.u64(at + 8),
                }
            })
            .collect()
    }

    /// The first dynamic entry with `tag`.
    pub fn dyn_entry(&self, tag: u64) -> Option<DynEntry> {
        self.dynamic().into_iter().find(|e| e.tag == tag)
    }

    pub fn dyn_val(&self, tag: u64) -> Option<u64> {
        self.dyn_entry(tag).map(|e| e.val)
    }

    /// The file range of a table named by an address tag and a size (in bytes),
    /// clipped to the file.
    pub fn table(&self, addr_tag: u64, size: u64) -> Option<Range<usize>> {
        let start = self.off(self.dyn_val(addr_tag)?)?;
        let end = (start + size as usize).min(self.data.len());
        Some(start..end)
    }

    /// File ranges of the tables the dynamic section names, by name; sizes from the
    /// dynamic section where it records them, else from the section headers, else
    /// a conservative guess.
    pub fn tables(&self) -> Vec<(&'static str, Range<usize>)> {
        let mut out = Vec::new();
        let sec_size =
            |name: &str, fallback: u64| self.section(name).map(|s| s.size).unwrap_or(fallback);
        let mut push = |name: &'static str, r: Option<Range<usize>>| {
            if let Some(r) = r {
                if !r.is_empty() {
                    out.push((name, r));
                }
            }
        };
        push("dynamic", {
            let d = self.phdr(PT_DYNAMIC).unwrap();
            Some(d.offset as usize..(d.offset + d.filesz) as usize)
        });
        push(
            "dynstr",
            self.table(DT_STRTAB, self.dyn_val(DT_STRSZ).unwrap_or(0)),
        );
        push("dynsym", self.table(DT_SYMTAB, sec_size(".dynsym", 24 * 8)));
        push(
            "gnu_hash",
            self.table(DT_GNU_HASH, sec_size(".gnu.hash", 64)),
        );
        push("hash", self.table(DT_HASH, sec_size(".hash", 64)));
        push(
            "versym",
            self.table(DT_VERSYM, sec_size(".gnu.version", 16)),
        );
        push(
            "verdef",
            self.table(DT_VERDEF, sec_size(".gnu.version_d", 64)),
        );
        push(
            "verneed",
            self.table(DT_VERNEED, sec_size(".gnu.version_r", 64)),
        );
        push(
            "rela",
            self.table(DT_RELA, self.dyn_val(DT_RELASZ).unwrap_or(0)),
        );
        push(
            "jmprel",
            self.table(DT_JMPREL, self.dyn_val(DT_PLTRELSZ).unwrap_or(0)),
        );
        push(
            "relr",
            self.table(DT_RELR, self.dyn_val(DT_RELRSZ).unwrap_or(0)),
        );
        out
    }

    /// File offsets of the `Elf64_Rela` entries of `DT_RELA` and `DT_JMPREL`.
    pub fn relas(&self) -> Vec<usize> {
        let mut out = Vec::new();
        for (name, r) in self.tables() {
            if name == "rela" || name == "jmprel" {
                out.extend((r.start..r.end).step_by(24).filter(|&a| a + 24 <= r.end));
            }
        }
        out
    }
}
