//! ELF parsing and validation, before anything is mapped.
//!
//! Owns [`Image::parse`]: the ELF header and program headers are read from the first
//! bytes of the file, checked (class, byte order, machine, type, every `PT_LOAD`'s
//! offsets, sizes and alignment against the file and against each other), and turned
//! into an [`Image`] whose fields later stages can trust. The dynamic section, symbol
//! tables and relocation tables live in the mapped image and are validated by
//! [`dynamic`] once the mapping exists. Nothing here touches memory protections or runs
//! code.

pub(crate) mod dynamic;
pub(crate) mod raw;

use std::path::Path;

use object::elf;
use object::read::elf::{FileHeader, ProgramHeader};
use object::LittleEndian as LE;

use crate::arch::{Arch, Native};
use crate::error::{Error, ErrorKind, Result};
use crate::Limits;

/// The page size the mapping works in (the architecture's base pages).
pub(crate) const PAGE: u64 = <Native as Arch>::PAGE_SIZE;

/// Round `v` down to a page boundary.
pub(crate) fn page_floor(v: u64) -> u64 {
    v & !(PAGE - 1)
}

/// Round `v` up to a page boundary, or `None` on overflow.
pub(crate) fn page_ceil(v: u64) -> Option<u64> {
    Some(v.checked_add(PAGE - 1)? & !(PAGE - 1))
}

/// Memory protection of a segment, from its `p_flags`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Prot {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

impl Prot {
    /// The protection `p_flags` asks for.
    pub fn from_flags(flags: u32) -> Self {
        Prot {
            read: flags & elf::PF_R.0 != 0,
            write: flags & elf::PF_W.0 != 0,
            exec: flags & elf::PF_X.0 != 0,
        }
    }
}

/// One validated `PT_LOAD` segment, in the object's own virtual addresses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoadSegment {
    /// `p_vaddr`.
    pub vaddr: u64,
    /// `p_memsz` (at least `filesz`).
    pub memsz: u64,
    /// `p_offset`; congruent to `vaddr` modulo the page size.
    pub offset: u64,
    /// `p_filesz`; `offset + filesz` lies inside the file.
    pub filesz: u64,
    /// Final protection.
    pub prot: Prot,
}

impl LoadSegment {
    /// End of the segment in memory (`vaddr + memsz`), checked at parse time.
    pub fn end(&self) -> u64 {
        self.vaddr + self.memsz
    }
}

/// The object's `PT_TLS` segment, recorded for the TLS set-up.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TlsSegment {
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub align: u64,
}

/// What the program headers say about an object, validated against the file.
#[derive(Debug)]
pub(crate) struct Image {
    /// `PT_LOAD` segments in ascending, non-overlapping address order.
    pub loads: Vec<LoadSegment>,
    /// `PT_DYNAMIC`: address and size; lies inside a loaded segment.
    pub dynamic: (u64, u64),
    /// `PT_GNU_RELRO`: address and size, if present; lies inside a writable segment.
    pub relro: Option<(u64, u64)>,
    /// `PT_TLS`, if present.
    pub tls: Option<TlsSegment>,
    /// Whether the object asks for an executable stack.
    pub exec_stack: bool,
    /// Address of the program headers in memory, if they are loaded (`PT_PHDR`, or
    /// the segment containing `e_phoff`), and their count (kept for the
    /// unwinders' object list and debuggers).
    pub phdr: Option<(u64, u16)>,
    /// Page-aligned start of the address span.
    pub span_start: u64,
    /// Page-aligned end of the address span.
    pub span_end: u64,
}

impl Image {
    /// Bytes the whole image occupies once mapped.
    pub fn span(&self) -> u64 {
        self.span_end - self.span_start
    }

    /// Parse and validate the ELF header and program headers.
    ///
    /// `head` holds the first bytes of the file (at least the ELF header; the
    /// program headers are read through `read_more` when they lie beyond it), and
    /// `file_size` is the file's length, against which every offset is checked.
    pub fn parse(
        path: &Path,
        head: &[u8],
        file_size: u64,
        limits: &Limits,
        read_more: &mut dyn FnMut(u64, usize) -> Result<Vec<u8>>,
    ) -> Result<Image> {
        check_ident(path, head)?;
        let header = elf::FileHeader64::<LE>::parse(head)
            .map_err(|_| Error::new(path, ErrorKind::NotElf))?;
        let endian = LE;
        let machine = header.e_machine.get(endian).0;
        if machine != crate::arch::MACHINE {
            return Err(Error::new(
                path,
                ErrorKind::WrongArch {
                    found: format!("machine {} ({machine})", machine_name(machine)),
                },
            ));
        }
        let e_type = header.e_type.get(endian).0;
        if e_type != elf::ET_DYN.0 {
            return Err(Error::new(
                path,
                ErrorKind::NotSharedObject {
                    found: format!("ELF type is {}", type_name(e_type)),
                },
            ));
        }
        if header.e_version.get(endian) != u32::from(elf::EV_CURRENT.0) {
            return Err(Error::malformed(path, "unknown e_version", 20));
        }
        let phoff = header.e_phoff.get(endian);
        let phnum = header.e_phnum.get(endian);
        let phentsize = header.e_phentsize.get(endian);
        if phnum == 0 {
            return Err(Error::malformed(path, "no program headers", phoff));
        }
        if usize::from(phentsize) != std::mem::size_of::<elf::ProgramHeader64<LE>>() {
            return Err(Error::malformed(
                path,
                format!("e_phentsize is {phentsize}, expected 56"),
                54,
            ));
        }
        if u64::from(phnum) > limits.max_program_headers {
            return Err(Error::new(
                path,
                ErrorKind::LimitExceeded {
                    what: "program header count",
                    value: phnum.into(),
                    limit: limits.max_program_headers,
                },
            ));
        }
        let ph_bytes = u64::from(phnum) * u64::from(phentsize);
        let ph_end = phoff
            .checked_add(ph_bytes)
            .filter(|&e| e <= file_size)
            .ok_or_else(|| Error::malformed(path, "program headers lie outside the file", phoff))?;
        let owned;
        let table: &[u8] = if ph_end <= head.len() as u64 {
            &head[phoff as usize..ph_end as usize]
        } else {
            owned = read_more(phoff, ph_bytes as usize)?;
            &owned
        };
        let phdrs = object::pod::slice_from_all_bytes::<elf::ProgramHeader64<LE>>(table)
            .map_err(|_| Error::malformed(path, "program header table size", phoff))?;
        Self::from_phdrs(path, phdrs, phoff, phnum, file_size, limits)
    }

    fn from_phdrs(
        path: &Path,
        phdrs: &[elf::ProgramHeader64<LE>],
        phoff: u64,
        phnum: u16,
        file_size: u64,
        limits: &Limits,
    ) -> Result<Image> {
        let endian = LE;
        let mut loads: Vec<LoadSegment> = Vec::new();
        let mut dynamic = None;
        let mut relro = None;
        let mut tls = None;
        let mut exec_stack = true; // glibc's x86-64 default when PT_GNU_STACK is absent
        let mut pt_phdr = None;
        for (i, ph) in phdrs.iter().enumerate() {
            let at = phoff + (i as u64) * 56;
            let (vaddr, memsz) = (ph.p_vaddr(endian), ph.p_memsz(endian));
            let (offset, filesz) = (ph.p_offset(endian), ph.p_filesz(endian));
            match ph.p_type(endian) {
                elf::PT_LOAD => {
                    if memsz == 0 {
                        continue;
                    }
                    if filesz > memsz {
                        return Err(Error::malformed(
                            path,
                            "PT_LOAD p_filesz exceeds p_memsz",
                            at,
                        ));
                    }
                    if offset.checked_add(filesz).is_none_or(|e| e > file_size) {
                        return Err(Error::malformed(
                            path,
                            "PT_LOAD file range lies outside the file",
                            at,
                        ));
                    }
                    if vaddr.checked_add(memsz).and_then(page_ceil).is_none() {
                        return Err(Error::malformed(
                            path,
                            "PT_LOAD address range overflows",
                            at,
                        ));
                    }
                    let align = ph.p_align(endian);
                    if align > 1 && !align.is_power_of_two() {
                        return Err(Error::malformed(
                            path,
                            "PT_LOAD p_align is not a power of two",
                            at,
                        ));
                    }
                    if vaddr % PAGE != offset % PAGE {
                        return Err(Error::malformed(
                            path,
                            "PT_LOAD p_vaddr and p_offset are not congruent modulo the page size",
                            at,
                        ));
                    }
                    if let Some(prev) = loads.last() {
                        if page_floor(vaddr) < page_ceil(prev.end()).unwrap_or(u64::MAX) {
                            return Err(Error::malformed(
                                path,
                                "PT_LOAD segments overlap or are not in ascending order",
                                at,
                            ));
                        }
                    }
                    let prot = Prot::from_flags(ph.p_flags(endian).0);
                    if prot.write && prot.exec {
                        return Err(Error::new(
                            path,
                            ErrorKind::WritableCode {
                                what: format!("PT_LOAD at {vaddr:#x} is writable and executable"),
                            },
                        ));
                    }
                    if loads.len() as u64 >= limits.max_load_segments {
                        return Err(Error::new(
                            path,
                            ErrorKind::LimitExceeded {
                                what: "PT_LOAD count",
                                value: loads.len() as u64 + 1,
                                limit: limits.max_load_segments,
                            },
                        ));
                    }
                    loads.push(LoadSegment {
                        vaddr,
                        memsz,
                        offset,
                        filesz,
                        prot,
                    });
                }
                elf::PT_DYNAMIC => dynamic = Some((vaddr, memsz, at)),
                elf::PT_GNU_RELRO => relro = Some((vaddr, memsz, at)),
                elf::PT_TLS => {
                    let align = ph.p_align(endian);
                    if filesz > memsz || (align > 1 && !align.is_power_of_two()) {
                        return Err(Error::malformed(path, "PT_TLS sizes or alignment", at));
                    }
                    tls = Some(TlsSegment {
                        vaddr,
                        filesz,
                        memsz,
                        align,
                    })
                }
                elf::PT_GNU_STACK => exec_stack = ph.p_flags(endian).0 & elf::PF_X.0 != 0,
                elf::PT_PHDR => pt_phdr = Some(vaddr),
                // A library may carry PT_INTERP so that it can also be run
                // (libc.so.6, libcap.so.2): glibc loads those, and refuses only
                // objects flagged DF_1_PIE, which the dynamic section tells.
                _ => {}
            }
        }
        let (first, last) = match (loads.first(), loads.last()) {
            (Some(f), Some(l)) => (*f, *l),
            _ => return Err(Error::malformed(path, "no PT_LOAD segment", phoff)),
        };
        let span_start = page_floor(first.vaddr);
        let span_end = page_ceil(last.end()).unwrap_or(u64::MAX);
        let span = span_end - span_start;
        if span > limits.max_image_size {
            return Err(Error::new(
                path,
                ErrorKind::LimitExceeded {
                    what: "mapped image size",
                    value: span,
                    limit: limits.max_image_size,
                },
            ));
        }
        let inside = |vaddr: u64, size: u64| {
            vaddr.checked_add(size).is_some_and(|end| {
                loads
                    .iter()
                    .any(|s| vaddr >= s.vaddr && end <= s.vaddr + s.memsz)
            })
        };
        let (dyn_addr, dyn_size, dyn_at) =
            dynamic.ok_or_else(|| Error::malformed(path, "no PT_DYNAMIC segment", phoff))?;
        if dyn_size < 16 || !inside(dyn_addr, dyn_size) {
            return Err(Error::malformed(
                path,
                "PT_DYNAMIC does not lie inside a PT_LOAD segment",
                dyn_at,
            ));
        }
        let relro = match relro {
            Some((addr, size, at)) => {
                let ok = addr.checked_add(size).is_some_and(|end| {
                    loads
                        .iter()
                        .any(|s| s.prot.write && addr >= s.vaddr && end <= s.vaddr + s.memsz)
                });
                if !ok {
                    return Err(Error::malformed(
                        path,
                        "PT_GNU_RELRO does not lie inside a writable PT_LOAD segment",
                        at,
                    ));
                }
                Some((addr, size))
            }
            None => None,
        };
        // The program headers in memory: PT_PHDR, or the segment that maps e_phoff.
        let phdr = pt_phdr
            .or_else(|| {
                loads.iter().find_map(|s| {
                    let end = phoff.checked_add(u64::from(phnum) * 56)?;
                    (phoff >= s.offset && end <= s.offset + s.filesz)
                        .then(|| s.vaddr + (phoff - s.offset))
                })
            })
            // Handed to unwinders and debuggers, which read it as an array of
            // `Elf64_Phdr`: it must be aligned and lie in one readable segment.
            .filter(|&a| {
                a % 8 == 0
                    && a.checked_add(u64::from(phnum) * 56).is_some_and(|end| {
                        loads
                            .iter()
                            .any(|s| s.prot.read && a >= s.vaddr && end <= s.end())
                    })
            })
            .map(|a| (a, phnum));
        Ok(Image {
            loads,
            dynamic: (dyn_addr, dyn_size),
            relro,
            tls,
            exec_stack,
            phdr,
            span_start,
            span_end,
        })
    }
}

const EI_CLASS: usize = 4;
const EI_DATA: usize = 5;
const EI_VERSION: usize = 6;

/// Check `e_ident` ourselves first, so each failure gets its own message.
fn check_ident(path: &Path, head: &[u8]) -> Result<()> {
    if head.len() < 4 || head[..4] != elf::ELFMAG {
        return Err(Error::new(path, ErrorKind::NotElf));
    }
    if head.len() < std::mem::size_of::<elf::FileHeader64<LE>>() {
        if head.len() > EI_CLASS && head[EI_CLASS] == 1 {
            return Err(Error::new(
                path,
                ErrorKind::WrongArch {
                    found: "ELF32".into(),
                },
            ));
        }
        return Err(Error::malformed(
            path,
            "file is shorter than an ELF header",
            0,
        ));
    }
    match head[EI_CLASS] {
        2 => {}
        1 => {
            return Err(Error::new(
                path,
                ErrorKind::WrongArch {
                    found: "ELF32".into(),
                },
            ))
        }
        c => return Err(Error::malformed(path, format!("unknown ELF class {c}"), 4)),
    }
    match head[EI_DATA] {
        1 => {}
        2 => {
            return Err(Error::new(
                path,
                ErrorKind::WrongArch {
                    found: "ELF64 big-endian".into(),
                },
            ))
        }
        d => {
            return Err(Error::malformed(
                path,
                format!("unknown ELF data encoding {d}"),
                5,
            ))
        }
    }
    if head[EI_VERSION] != 1 {
        return Err(Error::malformed(path, "unknown EI_VERSION", 6));
    }
    Ok(())
}

fn machine_name(m: u16) -> &'static str {
    match m {
        3 => "i386",
        62 => "x86-64",
        183 => "AArch64",
        40 => "ARM",
        243 => "RISC-V",
        21 => "PowerPC64",
        22 => "s390",
        8 => "MIPS",
        258 => "LoongArch",
        43 => "SPARC V9",
        _ => "unknown",
    }
}

fn type_name(t: u16) -> String {
    match t {
        0 => "ET_NONE".into(),
        1 => "ET_REL (a relocatable object file)".into(),
        2 => "ET_EXEC (an executable)".into(),
        4 => "ET_CORE (a core dump)".into(),
        t => format!("{t:#x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_more(_: u64, _: usize) -> Result<Vec<u8>> {
        panic!("unexpected read")
    }

    #[test]
    fn rejects_short_and_foreign_headers() {
        let p = Path::new("x.so");
        let l = Limits::default();
        let e = Image::parse(p, b"\x7fEL", 3, &l, &mut no_more).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::NotElf), "{e}");
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(&elf::ELFMAG);
        h[4] = 1;
        let e = Image::parse(p, &h, 64, &l, &mut no_more).unwrap_err();
        assert!(e.to_string().contains("ELF32"), "{e}");
        h[4] = 2;
        h[5] = 2;
        let e = Image::parse(p, &h, 64, &l, &mut no_more).unwrap_err();
        assert!(e.to_string().contains("big-endian"), "{e}");
        h[5] = 1;
        h[6] = 1;
        h[18] = 183; // EM_AARCH64
        let e = Image::parse(p, &h, 64, &l, &mut no_more).unwrap_err();
        assert!(e.to_string().contains("AArch64"), "{e}");
        h[18] = 62;
        h[16] = 2; // ET_EXEC
        h[20] = 1;
        let e = Image::parse(p, &h, 64, &l, &mut no_more).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::NotSharedObject { .. }), "{e}");
        h[16] = 3;
        let e = Image::parse(p, &h, 64, &l, &mut no_more).unwrap_err();
        assert!(e.to_string().contains("no program headers"), "{e}");
    }

    #[test]
    fn page_rounding() {
        assert_eq!(page_floor(0x1fff), 0x1000);
        assert_eq!(page_ceil(0x1001), Some(0x2000));
        assert_eq!(page_ceil(u64::MAX), None);
    }
}
