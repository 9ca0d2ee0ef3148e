//! Raw ELF64 records as they lie in a mapped image, and the constants that name
//! their fields.
//!
//! Owns the little-endian ELF64 record layouts the loader reads from mapped memory
//! after the headers were parsed by `object` (dynamic entries, symbols, relocations,
//! version records), and [`Raw`], the only way the loader reads them: a bounded,
//! unaligned, reference-free view of a validated range of the image. It does not
//! decide which ranges are valid; [`super::dynamic`] does.

use std::marker::PhantomData;

/// `Elf64_Dyn`.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub(crate) struct Dyn {
    pub tag: i64,
    pub val: u64,
}

/// `Elf64_Sym`.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub(crate) struct Sym {
    pub name: u32,
    pub info: u8,
    pub other: u8,
    pub shndx: u16,
    pub value: u64,
    pub size: u64,
}

impl Sym {
    pub fn bind(&self) -> u8 {
        self.info >> 4
    }
    pub fn kind(&self) -> u8 {
        self.info & 0xf
    }
    pub fn visibility(&self) -> u8 {
        self.other & 0x3
    }
    pub fn is_defined(&self) -> bool {
        self.shndx != SHN_UNDEF
    }
}

/// `Elf64_Rela`.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub(crate) struct Rela {
    pub offset: u64,
    pub info: u64,
    pub addend: i64,
}

/// `Elf64_Rel`.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub(crate) struct Rel {
    pub offset: u64,
    pub info: u64,
}

/// `Elf64_Verdef`.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub(crate) struct Verdef {
    pub version: u16,
    pub flags: u16,
    pub ndx: u16,
    pub cnt: u16,
    pub hash: u32,
    pub aux: u32,
    pub next: u32,
}

/// `Elf64_Verdaux`.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub(crate) struct Verdaux {
    pub name: u32,
    pub next: u32,
}

/// `Elf64_Verneed`.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub(crate) struct Verneed {
    pub version: u16,
    pub cnt: u16,
    pub file: u32,
    pub aux: u32,
    pub next: u32,
}

/// `Elf64_Vernaux`.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub(crate) struct Vernaux {
    pub hash: u32,
    pub flags: u16,
    pub other: u16,
    pub name: u32,
    pub next: u32,
}

/// Marker for the plain-old-data records above: any bit pattern is a valid value.
///
/// # Safety
/// Implementors must be `repr(C)` structs (or integers) of integer fields only.
pub(crate) unsafe trait Pod: Copy {}
// SAFETY: each is a repr(C) struct of integer fields (or an integer).
unsafe impl Pod for Dyn {}
// SAFETY: as above.
unsafe impl Pod for Sym {}
// SAFETY: as above.
unsafe impl Pod for Rela {}
// SAFETY: as above.
unsafe impl Pod for Rel {}
// SAFETY: as above.
unsafe impl Pod for Verdef {}
// SAFETY: as above.
unsafe impl Pod for Verdaux {}
// SAFETY: as above.
unsafe impl Pod for Verneed {}
// SAFETY: as above.
unsafe impl Pod for Vernaux {}
// SAFETY: integers.
unsafe impl Pod for u8 {}
// SAFETY: integers.
unsafe impl Pod for u16 {}
// SAFETY: integers.
unsafe impl Pod for u32 {}
// SAFETY: integers.
unsafe impl Pod for u64 {}

/// A bounded array of `T` inside a mapped image, read without forming references.
///
/// Invariant (established by [`Raw::new`]'s caller): `[ptr, ptr + len * size_of::<T>())`
/// is readable memory of a mapping that outlives this value. The loader only builds
/// a `Raw` over read-only segments of the module that owns both the mapping and the
/// `Raw`, so the bytes never change while it exists.
pub(crate) struct Raw<T> {
    addr: usize,
    len: usize,
    _t: PhantomData<*const T>,
}

impl<T: Pod> Raw<T> {
    /// An empty view.
    pub const fn empty() -> Self {
        Raw {
            addr: 0,
            len: 0,
            _t: PhantomData,
        }
    }

    /// A view of `len` records at address `addr`.
    ///
    /// # Safety
    /// `[addr, addr + len * size_of::<T>())` must be readable and unchanging for as
    /// long as the returned value (or anything derived from it) is used.
    pub unsafe fn new(addr: usize, len: usize) -> Self {
        Raw {
            addr,
            len,
            _t: PhantomData,
        }
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Record `i`, or `None` past the end.
    #[inline]
    pub fn get(&self, i: usize) -> Option<T> {
        if i < self.len {
            // SAFETY: i < len, and the constructor's contract makes every record in
            // [addr, addr + len * size) readable; `read_unaligned` needs no alignment
            // and T is Pod, so any bytes are a valid value.
            Some(unsafe { (self.addr as *const T).add(i).read_unaligned() })
        } else {
            None
        }
    }
}

impl Raw<u8> {
    /// The bytes as a slice.
    pub fn bytes(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: the constructor's contract: readable and unchanging while `self`
        // lives; u8 has no alignment requirement.
        unsafe { std::slice::from_raw_parts(self.addr as *const u8, self.len) }
    }

    /// The NUL-terminated string at offset `off`, without its terminator; `None` if
    /// `off` is out of range or no NUL follows it inside the table.
    pub fn c_str(&self, off: u32) -> Option<&[u8]> {
        let tail = self.bytes().get(off as usize..)?;
        let n = tail.iter().position(|&b| b == 0)?;
        Some(&tail[..n])
    }

    /// Whether the string at `off` equals `name` (and ends right after it).
    #[inline]
    pub fn str_eq(&self, off: u32, name: &[u8]) -> bool {
        let off = off as usize;
        let b = self.bytes();
        match b.get(off..off.wrapping_add(name.len()).wrapping_add(1)) {
            Some(s) => s[..name.len()] == *name && s[name.len()] == 0,
            None => false,
        }
    }
}

// SAFETY: a `Raw` is an address range into an immutable mapping owned by the same
// module; reading it from any thread is fine.
unsafe impl<T> Send for Raw<T> {}
// SAFETY: as above; no interior mutability.
unsafe impl<T> Sync for Raw<T> {}

pub(crate) const SHN_UNDEF: u16 = 0;
pub(crate) const SHN_ABS: u16 = 0xfff1;

pub(crate) const STB_LOCAL: u8 = 0;
pub(crate) const STB_GLOBAL: u8 = 1;
pub(crate) const STB_WEAK: u8 = 2;
pub(crate) const STB_GNU_UNIQUE: u8 = 10;

pub(crate) const STT_SECTION: u8 = 3;
pub(crate) const STT_FILE: u8 = 4;
pub(crate) const STT_TLS: u8 = 6;
pub(crate) const STT_GNU_IFUNC: u8 = 10;

pub(crate) const STV_DEFAULT: u8 = 0;
pub(crate) const STV_PROTECTED: u8 = 3;

pub(crate) const DT_NULL: i64 = 0;
pub(crate) const DT_NEEDED: i64 = 1;
pub(crate) const DT_PLTRELSZ: i64 = 2;
pub(crate) const DT_HASH: i64 = 4;
pub(crate) const DT_STRTAB: i64 = 5;
pub(crate) const DT_SYMTAB: i64 = 6;
pub(crate) const DT_RELA: i64 = 7;
pub(crate) const DT_RELASZ: i64 = 8;
pub(crate) const DT_RELAENT: i64 = 9;
pub(crate) const DT_STRSZ: i64 = 10;
pub(crate) const DT_SYMENT: i64 = 11;
pub(crate) const DT_INIT: i64 = 12;
pub(crate) const DT_FINI: i64 = 13;
pub(crate) const DT_SONAME: i64 = 14;
pub(crate) const DT_RPATH: i64 = 15;
pub(crate) const DT_SYMBOLIC: i64 = 16;
pub(crate) const DT_REL: i64 = 17;
pub(crate) const DT_RELSZ: i64 = 18;
pub(crate) const DT_RELENT: i64 = 19;
pub(crate) const DT_PLTREL: i64 = 20;
pub(crate) const DT_TEXTREL: i64 = 22;
pub(crate) const DT_JMPREL: i64 = 23;
pub(crate) const DT_INIT_ARRAY: i64 = 25;
pub(crate) const DT_FINI_ARRAY: i64 = 26;
pub(crate) const DT_INIT_ARRAYSZ: i64 = 27;
pub(crate) const DT_FINI_ARRAYSZ: i64 = 28;
pub(crate) const DT_RUNPATH: i64 = 29;
pub(crate) const DT_FLAGS: i64 = 30;
pub(crate) const DT_FLAGS_1: i64 = object::elf::DT_FLAGS_1.0;
pub(crate) const DT_RELRSZ: i64 = 35;
pub(crate) const DT_RELR: i64 = 36;
pub(crate) const DT_RELRENT: i64 = 37;
pub(crate) const DT_GNU_HASH: i64 = 0x6fff_fef5;
pub(crate) const DT_VERSYM: i64 = 0x6fff_fff0;
pub(crate) const DT_VERDEF: i64 = 0x6fff_fffc;
pub(crate) const DT_VERDEFNUM: i64 = 0x6fff_fffd;
pub(crate) const DT_VERNEED: i64 = 0x6fff_fffe;
pub(crate) const DT_VERNEEDNUM: i64 = 0x6fff_ffff;

pub(crate) const DF_SYMBOLIC: u64 = 0x2;
pub(crate) const DF_TEXTREL: u64 = 0x4;

pub(crate) const VER_FLG_BASE: u16 = 0x1;
pub(crate) const VERSYM_HIDDEN: u16 = 0x8000;
pub(crate) const VERSYM_INDEX: u16 = 0x7fff;
