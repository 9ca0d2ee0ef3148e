//! Mapping an object's `PT_LOAD` segments into memory.
//!
//! Owns [`Mapping`]: one reservation covering the whole image, every segment mapped
//! from the file inside it with `MAP_FIXED`, `.bss` zeroed and backed by anonymous
//! pages, holes between segments made inaccessible, and the whole span unmapped when
//! the `Mapping` is dropped (so every error path after this point releases it). The
//! mapping keeps the segments it mapped and is the only maker of the [`View`] that
//! every later stage reads and writes the image through (`view.rs`). It does not
//! read the dynamic section or apply relocations.
//!
//! The path is built for few and cheap syscalls, because on a virtual machine they
//! dominate the cost of a load: the reservation *is* the file mapped over the whole
//! span (as glibc does for its first segment), and a later segment at the same file
//! displacement (what linkers produce) is not mapped again: its pages only get
//! their protection (`mprotect`, which splits the one mapping and costs less than a
//! `MAP_FIXED` mapping). Writable segments of several pages are prefaulted
//! (`MADV_POPULATE_WRITE`, or `MAP_POPULATE` when mapped on their own), since
//! relocation will write every page of them anyway and one populate is cheaper than
//! a page fault per page. Only a segment at another displacement is mapped on its
//! own; `.bss` beyond the file gets anonymous pages.
//!
//! With [`LoadOptions::reuse_mappings`](crate::LoadOptions::reuse_mappings), a
//! dropped mapping whose load went through is advised back to its file and kept
//! (`reuse.rs`), and the next mapping of the same file and layout takes it
//! instead of mapping anew.
//!
//! Unsafe code is allowed in this module: `mmap`, `mprotect` and `munmap` of the
//! object's own reservation, and zeroing the tail of its last file page; every range is
//! inside the span the `Mapping` owns.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::os::fd::BorrowedFd;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::mm::{MapFlags, MprotectFlags, ProtFlags};

use crate::elf::{page_ceil, page_floor, Image, LoadSegment, Prot, PAGE};
use crate::error::{Error, ErrorKind, Result};

mod reuse;
mod view;

pub use reuse::release_closed_mappings;
pub(crate) use reuse::SLOTS as REUSE_SLOTS;
pub(crate) use view::{Target, View};

use crate::file::FileId;

/// Writable file-backed segments up to this size are populated at map time: their
/// pages hold relocations (RELRO, GOT, data with pointers) and would otherwise take
/// one copy-on-write fault each.
const POPULATE_LIMIT: u64 = 2 * 1024 * 1024;

/// The memory an object occupies: a reservation of its whole span.
#[derive(Debug)]
pub(crate) struct Mapping {
    ptr: NonNull<c_void>,
    len: usize,
    /// The load bias: memory address = `bias + p_vaddr`.
    bias: usize,
    /// The segments mapped, as validated by `Image::parse`.
    loads: Box<[LoadSegment]>,
    /// The image's page-aligned span in virtual addresses.
    span: (u64, u64),
    /// The file and path to keep the reservation for when this mapping is
    /// dropped (`reuse.rs`); `None`: unmapped on drop.
    reuse: Option<(FileId, std::path::PathBuf)>,
    /// Set once the object's load went through ([`Mapping::keep_when_closed`]):
    /// a failed or dry load is always unmapped.
    keep: AtomicBool,
}

// SAFETY: a `Mapping` is a plain owned address range; nothing in it is tied to the
// thread that created it, and the unmapping in `Drop` may happen on any thread.
unsafe impl Send for Mapping {}
// SAFETY: `&Mapping` only exposes addresses, never interior mutation.
unsafe impl Sync for Mapping {}

fn prot_flags(p: Prot) -> ProtFlags {
    let mut f = ProtFlags::empty();
    if p.read {
        f |= ProtFlags::READ;
    }
    if p.write {
        f |= ProtFlags::WRITE;
    }
    if p.exec {
        f |= ProtFlags::EXEC;
    }
    f
}

fn mprotect_flags(p: Prot) -> MprotectFlags {
    let mut f = MprotectFlags::empty();
    if p.read {
        f |= MprotectFlags::READ;
    }
    if p.write {
        f |= MprotectFlags::WRITE;
    }
    if p.exec {
        f |= MprotectFlags::EXEC;
    }
    f
}

fn map_err(path: &Path, op: &'static str, e: rustix::io::Errno) -> Error {
    Error::new(
        path,
        ErrorKind::Map {
            op,
            source: e.into(),
        },
    )
}

impl Mapping {
    /// Map every `PT_LOAD` of `image` from `fd`. With `reuse` (the file's
    /// identity), a kept reservation of the same file and layout is taken instead
    /// of a new one, and this mapping is kept for the next load when dropped.
    ///
    /// On error nothing stays mapped: the reservation is dropped, which unmaps it
    /// (only a mapping whose load went through is ever kept).
    pub fn new(
        path: &Path,
        fd: BorrowedFd<'_>,
        image: &Image,
        reuse: Option<FileId>,
    ) -> Result<Mapping> {
        let keep = reuse.map(|id| (id, path.to_path_buf()));
        if let Some(id) = reuse {
            if let Some(c) = reuse::take(id, path, &image.loads, (image.span_start, image.span_end))
            {
                return Self::reused(path, image, c, keep);
            }
        }
        let span = usize::try_from(image.span())
            .map_err(|_| Error::malformed(path, "image span does not fit the address space", 0))?;
        let first = image.loads[0];
        // The reservation is the first segment's own mapping, stretched over the
        // whole span; later segments replace their part of it.
        // SAFETY: a fresh mapping at an address of the kernel's choosing overlaps
        // nothing that Rust code references.
        let ptr = unsafe {
            if first.filesz > 0 {
                rustix::mm::mmap(
                    std::ptr::null_mut(),
                    span,
                    prot_flags(first.prot),
                    MapFlags::PRIVATE,
                    fd,
                    page_floor(first.offset),
                )
            } else {
                rustix::mm::mmap_anonymous(
                    std::ptr::null_mut(),
                    span,
                    prot_flags(first.prot),
                    MapFlags::PRIVATE,
                )
            }
        }
        .map_err(|e| map_err(path, "mmap", e))?;
        let ptr = NonNull::new(ptr).ok_or_else(|| {
            Error::new(
                path,
                ErrorKind::Map {
                    op: "mmap",
                    source: std::io::Error::other("kernel returned a null mapping"),
                },
            )
        })?;
        let bias = (ptr.as_ptr() as usize).wrapping_sub(image.span_start as usize);
        let mapping = Mapping {
            ptr,
            len: span,
            bias,
            loads: image.loads.clone().into_boxed_slice(),
            span: (image.span_start, image.span_end),
            reuse: keep,
            keep: AtomicBool::new(false),
        };
        let displacement = first.vaddr.wrapping_sub(first.offset);
        let mut prev_end = None;
        for (i, seg) in image.loads.iter().enumerate() {
            if let Some(prev_end) = prev_end {
                let gap_start = prev_end;
                let gap_end = page_floor(seg.vaddr);
                if gap_end > gap_start {
                    mapping.protect(path, gap_start, gap_end - gap_start, None)?;
                }
            }
            // A segment at the reservation's file displacement already has its
            // file pages mapped: it only needs its own protection (mprotect
            // splits the one mapping, which costs less than mapping again).
            let in_reservation =
                first.filesz > 0 && seg.vaddr.wrapping_sub(seg.offset) == displacement;
            if i > 0 && seg.filesz > 0 {
                if in_reservation {
                    mapping.protect_file_pages(path, seg)?;
                } else {
                    mapping.map_file(path, fd, seg)?;
                }
            }
            mapping.zero_bss(path, seg, i == 0 || in_reservation || seg.filesz > 0, true)?;
            prev_end = Some(page_ceil(seg.end()).unwrap_or(u64::MAX));
        }
        Ok(mapping)
    }

    /// A kept reservation of the same file and layout, made ready as a fresh one:
    /// its pages already read the file (or are zero), every segment and gap has
    /// its protection but `PT_GNU_RELRO`, which is made writable again; the tails
    /// of last file pages are zeroed and writable segments prefaulted as when
    /// mapping anew.
    fn reused(
        path: &Path,
        image: &Image,
        c: reuse::Closed,
        keep: Option<(FileId, std::path::PathBuf)>,
    ) -> Result<Mapping> {
        let mapping = Mapping {
            ptr: c.ptr,
            len: c.len,
            bias: (c.ptr.as_ptr() as usize).wrapping_sub(image.span_start as usize),
            loads: c.loads,
            span: c.span,
            reuse: keep,
            keep: AtomicBool::new(false),
        };
        if let Some(relro) = image.relro {
            mapping.relro_writable(path, relro, true)?;
        }
        for seg in image.loads.iter() {
            if seg.filesz > 0 {
                mapping.populate_writable(seg);
            }
            mapping.zero_bss(path, seg, seg.filesz > 0, false)?;
        }
        Ok(mapping)
    }

    /// Prefault the file pages of writable `seg` for writing, if it has several
    /// (relocation writes most of them; one populate costs less than a fault per
    /// page), where the kernel can.
    fn populate_writable(&self, seg: &LoadSegment) {
        let start = page_floor(seg.vaddr);
        let end = page_ceil(seg.vaddr + seg.filesz).unwrap_or(u64::MAX);
        if seg.prot.write && end - start > PAGE && end - start <= POPULATE_LIMIT {
            // SAFETY: [start, end) lies inside the span this `Mapping` owns and is
            // writable; prefaulting it changes no contents.
            let _ = unsafe {
                rustix::mm::madvise(
                    self.addr(start) as *mut c_void,
                    (end - start) as usize,
                    rustix::mm::Advice::LinuxPopulateWrite,
                )
            };
        }
    }

    /// Give the file pages of `seg`, which the reservation maps already, the
    /// segment's protection; a writable one of several pages is prefaulted for
    /// writing (relocation writes most of its pages), where the kernel can.
    fn protect_file_pages(&self, path: &Path, seg: &LoadSegment) -> Result<()> {
        let start = page_floor(seg.vaddr);
        let end = page_ceil(seg.vaddr + seg.filesz).unwrap_or(u64::MAX);
        if seg.prot != self.loads[0].prot {
            self.protect(path, start, end - start, Some(seg.prot))?;
        }
        self.populate_writable(seg);
        Ok(())
    }

    /// Map the file-backed pages of `seg` over the reservation.
    fn map_file(&self, path: &Path, fd: BorrowedFd<'_>, seg: &LoadSegment) -> Result<()> {
        let start = page_floor(seg.vaddr);
        // Checked at parse time: vaddr + filesz <= vaddr + memsz, which rounds up
        // without overflow and lies inside the span.
        let end = page_ceil(seg.vaddr + seg.filesz).unwrap_or(u64::MAX);
        let mut flags = MapFlags::PRIVATE | MapFlags::FIXED;
        // One page: a single fault costs less than populating it.
        if seg.prot.write && end - start > PAGE && end - start <= POPULATE_LIMIT {
            flags |= MapFlags::POPULATE;
        }
        let addr = self.addr(start);
        // SAFETY: [start, end) lies inside this mapping's span (validated by
        // `Image::parse`), which this `Mapping` owns and nothing else references
        // yet, so replacing those pages cannot invalidate any Rust reference.
        unsafe {
            rustix::mm::mmap(
                addr as *mut c_void,
                (end - start) as usize,
                prot_flags(seg.prot),
                flags,
                fd,
                page_floor(seg.offset),
            )
        }
        .map_err(|e| map_err(path, "mmap", e))?;
        Ok(())
    }

    /// Zero the part of `seg` past `p_filesz`: the tail of the last file page, and
    /// (with `map_anon`) anonymous pages for the rest. `file_mapped` says whether
    /// the segment's file pages are mapped (false only for a segment with no file
    /// contents at all).
    fn zero_bss(
        &self,
        path: &Path,
        seg: &LoadSegment,
        file_mapped: bool,
        map_anon: bool,
    ) -> Result<()> {
        if seg.memsz == seg.filesz {
            return Ok(());
        }
        let file_end = seg.vaddr + seg.filesz;
        let anon_start = if seg.filesz == 0 {
            page_floor(seg.vaddr)
        } else {
            page_ceil(file_end).unwrap_or(u64::MAX)
        };
        if seg.filesz > 0 && file_end % PAGE != 0 && file_mapped {
            let tail = (anon_start - file_end) as usize;
            let page = page_floor(file_end);
            if !seg.prot.write {
                let rw = Prot {
                    read: true,
                    write: true,
                    exec: false,
                };
                self.protect(path, page, PAGE, Some(rw))?;
            }
            // SAFETY: [file_end, anon_start) is inside this segment's last file
            // page, inside the span this `Mapping` owns, and now writable.
            unsafe { std::ptr::write_bytes(self.addr(file_end) as *mut u8, 0, tail) };
            if !seg.prot.write {
                self.protect(path, page, PAGE, Some(seg.prot))?;
            }
        }
        let anon_end = page_ceil(seg.end()).unwrap_or(u64::MAX);
        if map_anon && anon_end > anon_start {
            // SAFETY: [anon_start, anon_end) lies inside the owned span; replacing it
            // with fresh zero pages invalidates no Rust reference.
            unsafe {
                rustix::mm::mmap_anonymous(
                    self.addr(anon_start) as *mut c_void,
                    (anon_end - anon_start) as usize,
                    prot_flags(seg.prot),
                    MapFlags::PRIVATE | MapFlags::FIXED,
                )
            }
            .map_err(|e| map_err(path, "mmap", e))?;
        }
        Ok(())
    }

    /// Change the protection of `[vaddr, vaddr + len)`, which must be page-aligned
    /// and inside the span (anything else is refused as malformed); `None` makes
    /// it inaccessible.
    pub fn protect(&self, path: &Path, vaddr: u64, len: u64, prot: Option<Prot>) -> Result<()> {
        let inside = vaddr % PAGE == 0
            && len % PAGE == 0
            && vaddr >= self.span.0
            && vaddr.checked_add(len).is_some_and(|end| end <= self.span.1);
        if !inside {
            return Err(Error::malformed(
                path,
                "protection change outside the object's pages",
                vaddr,
            ));
        }
        let flags = prot.map(mprotect_flags).unwrap_or(MprotectFlags::empty());
        // SAFETY: [vaddr, vaddr + len) is page-aligned and inside the span this
        // `Mapping` owns (checked above); changing its protection affects no memory
        // outside it.
        unsafe { rustix::mm::mprotect(self.addr(vaddr) as *mut c_void, len as usize, flags) }
            .map_err(|e| map_err(path, "mprotect", e))
    }

    /// The checked view of this mapping's segments.
    pub fn view(&self) -> View<'_> {
        View::new(&self.loads, self.bias)
    }

    /// Make the `PT_GNU_RELRO` range read-only, once relocation is done.
    pub fn protect_relro(&self, path: &Path, relro: (u64, u64)) -> Result<()> {
        self.relro_writable(path, relro, false)
    }

    /// Make the `PT_GNU_RELRO` range writable again (`true`) or read-only
    /// (`false`): a binding rewritten after the load opens it for the write.
    pub fn relro_writable(&self, path: &Path, relro: (u64, u64), writable: bool) -> Result<()> {
        let start = page_floor(relro.0);
        let end = page_floor(relro.0 + relro.1);
        if end > start {
            let prot = Prot {
                read: true,
                write: writable,
                exec: false,
            };
            self.protect(path, start, end - start, Some(prot))?;
        }
        Ok(())
    }

    /// The load bias: memory address of `p_vaddr` 0.
    pub fn bias(&self) -> usize {
        self.bias
    }

    /// The memory address of virtual address `vaddr`.
    pub fn addr(&self, vaddr: u64) -> usize {
        self.bias.wrapping_add(vaddr as usize)
    }

    /// Keep the reservation for the next load of the same file when this mapping
    /// is dropped (if it was made with a file identity): called once the load
    /// went through.
    pub fn keep_when_closed(&self) {
        self.keep.store(true, Ordering::Relaxed);
    }

    /// Start address and length of the whole reservation.
    pub fn range(&self) -> (usize, usize) {
        (self.ptr.as_ptr() as usize, self.len)
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        let keep = *self.keep.get_mut();
        if let Some((id, path)) = self.reuse.take().filter(|_| keep) {
            // SAFETY: this `Mapping` owns [ptr, ptr + len) and nothing refers to
            // it any more; dropping its pages only makes them read the file (or
            // zero) again. Refused (locked pages), the span is unmapped below.
            let advised = unsafe {
                rustix::mm::madvise(
                    self.ptr.as_ptr(),
                    self.len,
                    rustix::mm::Advice::LinuxDontNeed,
                )
            };
            if advised.is_ok() {
                reuse::put(reuse::Closed {
                    ptr: self.ptr,
                    len: self.len,
                    id,
                    path,
                    loads: std::mem::take(&mut self.loads),
                    span: self.span,
                });
                return;
            }
        }
        // SAFETY: this `Mapping` owns [ptr, ptr + len); once dropped, nothing may
        // refer to it (modules keep their `Mapping` until after fini ran).
        let _ = unsafe { rustix::mm::munmap(self.ptr.as_ptr(), self.len) };
    }
}
