//! Checked access to a mapped image: [`View`] and [`Target`].
//!
//! Owns the one way the loader reaches into a mapped object: a [`View`] knows
//! the object's segments and bias, answers whether a range is readable,
//! read-only, writable or executable, reads plain records from it, hands out
//! [`Raw`] table views of read-only ranges, and [`Target`]s: checked places to
//! write, the only way a relocation writes. It does not decide what to write
//! (`reloc`) or change protections (`Mapping`).
//!
//! Unsafe code is allowed in this module: the reads and writes of a mapped image, each
//! inside a segment whose bounds and protection were checked against the mapping that
//! owns the memory.
#![allow(unsafe_code)]

use std::marker::PhantomData;
use std::path::Path;

use crate::elf::raw::{Pod, Raw};
use crate::elf::LoadSegment;
use crate::error::{Error, Result};

/// Addresses inside one mapped image, checked against its segments.
///
/// Made only by [`Mapping::view`](super::Mapping::view): its segments are exactly
/// the ones that mapping mapped, at its bias, and it borrows the mapping, so
/// every address it hands out lies in memory that stays mapped while it lives.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    loads: &'a [LoadSegment],
    bias: usize,
}

impl<'a> View<'a> {
    /// The view of a mapping's own segments (see the type's invariant).
    pub(super) fn new(loads: &'a [LoadSegment], bias: usize) -> Self {
        View { loads, bias }
    }

    /// A checked place to write `size` bytes at `vaddr`: inside one writable
    /// segment of this mapping, or `None`.
    #[inline]
    pub fn writable_target(&self, vaddr: u64, size: u64) -> Option<Target<'a>> {
        // Searched from the end: the writable segment is the last one of almost
        // every object.
        let end = vaddr.checked_add(size)?;
        let s = self
            .loads
            .iter()
            .rev()
            .find(|s| vaddr >= s.vaddr && end <= s.end())?;
        s.prot.write.then(|| Target {
            addr: self.bias.wrapping_add(vaddr as usize),
            size,
            _mapping: PhantomData,
        })
    }

    #[inline]
    fn segment(&self, vaddr: u64, len: u64) -> Option<&'a LoadSegment> {
        let end = vaddr.checked_add(len)?;
        self.loads
            .iter()
            .find(|s| vaddr >= s.vaddr && end <= s.end())
    }

    /// Address of `[vaddr, vaddr + len)` if it lies in one readable, non-writable
    /// segment.
    pub fn read_only(&self, vaddr: u64, len: u64) -> Option<usize> {
        let s = self.segment(vaddr, len)?;
        (s.prot.read && !s.prot.write).then(|| self.bias.wrapping_add(vaddr as usize))
    }

    /// Address of `vaddr` and the bytes from it to the end of its segment, if it lies
    /// in a readable, non-writable segment.
    pub fn read_only_tail(&self, vaddr: u64) -> Option<(usize, u64)> {
        let s = self.segment(vaddr, 0)?;
        (s.prot.read && !s.prot.write && vaddr < s.end())
            .then(|| (self.bias.wrapping_add(vaddr as usize), s.end() - vaddr))
    }

    /// Whether `[vaddr, vaddr + len)` lies in one readable segment.
    pub fn readable(&self, vaddr: u64, len: u64) -> bool {
        self.segment(vaddr, len).is_some_and(|s| s.prot.read)
    }

    /// Whether `vaddr` lies in an executable segment.
    pub fn executable(&self, vaddr: u64) -> bool {
        self.segment(vaddr, 1).is_some_and(|s| s.prot.exec)
    }

    /// Read a `T` at `vaddr` from any readable segment.
    pub fn read<T: Pod>(&self, vaddr: u64) -> Option<T> {
        let s = self.segment(vaddr, std::mem::size_of::<T>() as u64)?;
        if !s.prot.read {
            return None;
        }
        // SAFETY: the range lies inside a readable, mapped segment of this image;
        // `read_unaligned` of a Pod type is valid for any bytes.
        Some(unsafe { (self.bias.wrapping_add(vaddr as usize) as *const T).read_unaligned() })
    }

    /// A [`Raw`] view of `count` records at `vaddr` in a read-only segment.
    pub fn table<T: Pod>(&self, path: &Path, what: &str, vaddr: u64, count: u64) -> Result<Raw<T>> {
        let size = std::mem::size_of::<T>() as u64;
        let len = count
            .checked_mul(size)
            .ok_or_else(|| Error::malformed(path, format!("{what} size overflows"), vaddr))?;
        let addr = self.read_only(vaddr, len).ok_or_else(|| {
            Error::malformed(
                path,
                format!("{what} does not lie inside a read-only loaded segment"),
                vaddr,
            )
        })?;
        // SAFETY: `read_only` checked that the whole range lies in a readable,
        // non-writable segment of this image, which stays mapped (and unchanged) for
        // as long as the module that owns both the mapping and this view.
        Ok(unsafe { Raw::new(addr, count as usize) })
    }

    /// A [`Raw`] view from `vaddr` to the end of its read-only segment.
    pub fn open_table<T: Pod>(&self, path: &Path, what: &str, vaddr: u64) -> Result<Raw<T>> {
        let (addr, avail) = self.read_only_tail(vaddr).ok_or_else(|| {
            Error::malformed(
                path,
                format!("{what} does not lie inside a read-only loaded segment"),
                vaddr,
            )
        })?;
        let count = avail / std::mem::size_of::<T>() as u64;
        // SAFETY: as in `table`: [addr, addr + count * size) lies in one read-only
        // segment of this image.
        Ok(unsafe { Raw::new(addr, count as usize) })
    }
}

/// A place inside a writable segment of a mapped object, checked by
/// [`View::writable_target`], that a relocation may write: `size` bytes at
/// `addr`. It borrows the mapping, so the memory stays mapped; it is writable
/// while relocation runs (RELRO is made read-only after it), and a later rebind
/// makes RELRO writable again around its writes.
#[derive(Debug)]
pub(crate) struct Target<'a> {
    addr: usize,
    size: u64,
    _mapping: PhantomData<&'a ()>,
}

impl Target<'_> {
    /// The run-time address (the relocation's `P`).
    #[inline]
    pub fn addr(&self) -> usize {
        self.addr
    }

    /// What is stored there now: the implicit addend of a `REL` entry, sign
    /// extended from the target's width (4 or 8 bytes; 0 for other widths).
    pub fn read(&self) -> i64 {
        // SAFETY: [addr, addr + size) lies inside a writable (hence readable)
        // segment of a mapping that outlives `self` (checked at construction);
        // unaligned reads of integers are valid for any bytes.
        unsafe {
            match self.size {
                4 => i64::from((self.addr as *const i32).read_unaligned()),
                8 => (self.addr as *const i64).read_unaligned(),
                _ => 0,
            }
        }
    }

    /// Store a 64-bit value (the target must be at least 8 bytes).
    #[inline]
    pub fn write_u64(&self, v: u64) {
        debug_assert!(self.size >= 8);
        if self.size >= 8 {
            // SAFETY: [addr, addr + 8) lies inside a writable segment of a mapping
            // that outlives `self` (checked at construction), writable now (before
            // RELRO is applied, or with it opened by a rebind), and no Rust
            // reference points into a plugin's writable segments, so writing these
            // bytes aliases nothing.
            unsafe { (self.addr as *mut u64).write_unaligned(v) }
        }
    }

    /// Store a 32-bit value (the target must be at least 4 bytes).
    #[inline]
    pub fn write_u32(&self, v: u32) {
        debug_assert!(self.size >= 4);
        if self.size >= 4 {
            // SAFETY: as in `write_u64`, for 4 bytes.
            unsafe { (self.addr as *mut u32).write_unaligned(v) }
        }
    }

    /// Store two 64-bit values, the second 8 bytes after the first (a TLS
    /// descriptor: the target must be 16 bytes).
    pub fn write_pair(&self, first: u64, second: u64) {
        debug_assert!(self.size >= 16);
        if self.size >= 16 {
            // SAFETY: as in `write_u64`, for 16 bytes.
            unsafe {
                (self.addr as *mut u64).write_unaligned(first);
                ((self.addr + 8) as *mut u64).write_unaligned(second);
            }
        }
    }
}

impl View<'static> {
    /// The running executable's own segments, mapped for the life of the process
    /// (what its program headers say, at its load bias).
    pub fn of_executable() -> View<'static> {
        let exe = crate::runtime::exe::executable();
        View {
            loads: &exe.loads,
            bias: exe.bias,
        }
    }
}
