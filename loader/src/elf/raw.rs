//! Raw ELF64 records as they lie in a mapped image, and the constants that name
//! their fields.
//!
//! Owns the little-endian ELF64 record layouts the loader reads from mapped memory
//! after the headers were parsed by `object` (dynamic entries, symbols, relocations,
//! version records), and [`Raw`], the only way the loader reads them: a bounded,
//! unaligned, reference-free view of a validated range of the image. It does not
//! decide which ranges are valid; [`super::dynamic`] does.
//!
//! Unsafe code is allowed in this module: reads records of a mapped image through raw
//! addresses ([`Raw`]), which is what lets later stages read tables without forming
//! references into plugin memory; every read is bounded by a length fixed when the
//! range was validated.
#![allow(unsafe_code)]

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
    pub fn bind(&self) -> SymbolBind {
        SymbolBind(self.info >> 4)
    }
    pub fn kind(&self) -> SymbolType {
        SymbolType(self.info & 0xf)
    }
    pub fn visibility(&self) -> SymbolVisibility {
        SymbolVisibility(self.other & 0x3)
    }
    pub fn is_defined(&self) -> bool {
        self.shndx != SHN_UNDEF.0
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

    /// The first `n` records (all of them if there are fewer).
    pub fn truncated(self, n: usize) -> Self {
        Raw {
            len: self.len.min(n),
            ..self
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
        Some(&tail[..nul_position(tail)?])
    }

    /// The `len` bytes at offset `off`, if they lie in the table.
    #[inline]
    pub fn slice(&self, off: u32, len: u32) -> Option<&[u8]> {
        let off = off as usize;
        self.bytes().get(off..off.checked_add(len as usize)?)
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

/// The index of the first NUL byte of `b`, scanning eight bytes a step (symbol
/// names are short, and a byte loop or core's memchr cost a large part of a
/// symbol relocation).
#[inline]
pub(crate) fn nul_position(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while let Some(word) = b.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        let w = u64::from_le_bytes(w);
        // The lowest flagged byte is the first zero byte (flags above a zero
        // byte can be false, below it they cannot).
        let zero = w.wrapping_sub(ONES) & !w & HIGHS;
        if zero != 0 {
            return Some(i + (zero.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..].iter().position(|&c| c == 0).map(|p| i + p)
}

// SAFETY: a `Raw` of plain-old-data records is an address range into an
// immutable mapping owned by the same module; reading it from any thread is fine.
unsafe impl<T: Pod + Send> Send for Raw<T> {}
// SAFETY: as above; `&Raw` only reads, and `Pod` records have no interior
// mutability.
unsafe impl<T: Pod + Sync> Sync for Raw<T> {}

// The ELF constants, as `object` spells them. Symbol fields are compared as
// `object`'s newtypes (`Sym::bind` and friends return them); the table tags are
// matched as `DynamicTag(tag)`; shndx, version flags and dynamic flags as their
// raw values (`.0`).
pub(crate) use object::elf::{
    DynamicTag, SymbolBind, SymbolType, SymbolVisibility, DF_1_PIE, DF_SYMBOLIC, DF_TEXTREL,
    DT_FINI, DT_FINI_ARRAY, DT_FINI_ARRAYSZ, DT_FLAGS, DT_FLAGS_1, DT_GNU_HASH, DT_HASH, DT_INIT,
    DT_INIT_ARRAY, DT_INIT_ARRAYSZ, DT_JMPREL, DT_NEEDED, DT_NULL, DT_PLTREL, DT_PLTRELSZ, DT_REL,
    DT_RELA, DT_RELAENT, DT_RELASZ, DT_RELENT, DT_RELR, DT_RELRENT, DT_RELRSZ, DT_RELSZ, DT_RPATH,
    DT_RUNPATH, DT_SONAME, DT_STRSZ, DT_STRTAB, DT_SYMBOLIC, DT_SYMENT, DT_SYMTAB, DT_TEXTREL,
    DT_VERDEF, DT_VERDEFNUM, DT_VERNEED, DT_VERNEEDNUM, DT_VERSYM, SHN_ABS, SHN_UNDEF, STB_GLOBAL,
    STB_GNU_UNIQUE, STB_LOCAL, STB_WEAK, STT_FILE, STT_FUNC, STT_GNU_IFUNC, STT_SECTION, STT_TLS,
    STV_DEFAULT, STV_PROTECTED, VERSYM_HIDDEN, VERSYM_VERSION, VER_FLG_BASE,
};

#[cfg(test)]
mod tests {
    use super::nul_position;

    #[test]
    fn nul_position_finds_the_first_zero_at_every_offset() {
        // Every place of the first NUL in buffers of 0..=24 bytes, bytes around
        // it chosen to trip a word-at-a-time scan (0x80 and 0x01 next to zero).
        for len in 0..=24usize {
            for nul in 0..=len {
                let mut b: Vec<u8> = (0..len)
                    .map(|i| [0x80u8, 0x01, 0xff, b'a'][i % 4])
                    .collect();
                if nul < len {
                    b[nul] = 0;
                    if nul + 1 < len {
                        b[nul + 1] = 0;
                    }
                }
                let expected = b.iter().position(|&c| c == 0);
                assert_eq!(nul_position(&b), expected, "len {len} nul {nul}");
            }
        }
    }
}
