//! Closed objects' mappings kept for the next load of the same file.
//!
//! Owns the small cache of reservations whose object was closed. On Linux,
//! `MADV_DONTNEED` on a private mapping drops every page of it: file-backed pages
//! read the file again on the next touch (what the object was before anything was
//! relocated or written), anonymous ones come back zero. So a closed object's
//! span, once advised, is what a fresh mapping of the same file would be, laid
//! out by the same program headers and with the protections the loader gave each
//! segment; the next load of that file keeps it instead of mapping it again,
//! which saves the reservation, the protection changes and the final unmap (about
//! half of a small object's kernel time). It does not decide whether a mapping
//! may be kept (`Mapping`'s drop does) or set up the writable parts again
//! (`Mapping::reused`).
//!
//! What it changes for a process, and why it is bounded:
//! - a closed object's pages stay reserved (not resident: the advice frees them)
//!   until the same file is loaded again, another closed object pushes it out
//!   ([`SLOTS`] are kept), a load of the same path finds a different file there
//!   (a replaced plugin's old file is let go at once), or
//!   [`release_closed_mappings`] is called;
//! - the file stays referenced by the mapping meanwhile (`lsof` lists it, and a
//!   deleted file's blocks are freed only when the mapping goes);
//! - debuggers are told of the unload as before (the object leaves `r_debug`), and
//!   a stale pointer into the closed object reads the file's bytes instead of
//!   faulting;
//! - protections the object's own code changed with `mprotect` survive into the
//!   next load of the same file (the loader's own changes are all restored).
//!
//! Unsafe code is allowed in this module: unmapping the reservations it owns.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::Mutex;

use crate::elf::LoadSegment;
use crate::file::FileId;

/// How many closed objects' reservations are kept.
pub(crate) const SLOTS: usize = 4;

/// A closed object's reservation, advised back to its file's contents.
pub(super) struct Closed {
    pub ptr: NonNull<c_void>,
    pub len: usize,
    pub id: FileId,
    pub path: PathBuf,
    pub loads: Box<[LoadSegment]>,
    pub span: (u64, u64),
}

// SAFETY: a `Closed` is an owned address range nothing else refers to; it may be
// handed to and unmapped by any thread.
unsafe impl Send for Closed {}

/// Oldest first.
static CLOSED: Mutex<Vec<Closed>> = Mutex::new(Vec::new());

fn unmap(gone: Vec<Closed>) {
    for c in gone {
        // SAFETY: the cache owned this reservation alone (its object was closed
        // and no mapping was made from it since).
        let _ = unsafe { rustix::mm::munmap(c.ptr.as_ptr(), c.len) };
    }
}

fn same_layout(a: &[LoadSegment], b: &[LoadSegment]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.vaddr == y.vaddr
                && x.memsz == y.memsz
                && x.offset == y.offset
                && x.filesz == y.filesz
                && x.prot == y.prot
        })
}

/// The kept reservation of file `id` laid out as `loads` over `span`, if there is
/// one; reservations of other files last loaded from `path` are let go.
pub(super) fn take(
    id: FileId,
    path: &Path,
    loads: &[LoadSegment],
    span: (u64, u64),
) -> Option<Closed> {
    let mut list = CLOSED.lock().unwrap_or_else(|e| e.into_inner());
    if list.is_empty() {
        return None;
    }
    let mut found = None;
    let mut gone = Vec::new();
    let mut i = 0;
    while i < list.len() {
        let c = &list[i];
        if c.id == id {
            let c = list.remove(i);
            if found.is_none() && c.span == span && same_layout(&c.loads, loads) {
                found = Some(c);
            } else {
                gone.push(c);
            }
        } else if c.path == path {
            gone.push(list.remove(i));
        } else {
            i += 1;
        }
    }
    drop(list);
    unmap(gone);
    found
}

/// Keep `closed` for a later load of its file, letting the oldest go past
/// [`SLOTS`].
pub(super) fn put(closed: Closed) {
    let mut list = CLOSED.lock().unwrap_or_else(|e| e.into_inner());
    list.push(closed);
    let excess = list.len().saturating_sub(SLOTS);
    let gone: Vec<Closed> = list.drain(..excess).collect();
    drop(list);
    unmap(gone);
}

/// Unmap every closed object's reservation kept for reuse, returning how many
/// there were: for a host that must let go of the files (an unmount, a deleted
/// file's space) or wants a closed object's addresses to fault.
///
/// Closing an object loaded with
/// [`LoadOptions::reuse_mappings`](crate::LoadOptions::reuse_mappings) keeps its
/// reservation; this gives them all back.
///
/// ```
/// let n = staticdl_loader::release_closed_mappings();
/// assert_eq!(staticdl_loader::release_closed_mappings(), 0);
/// # let _ = n;
/// ```
pub fn release_closed_mappings() -> usize {
    let gone: Vec<Closed> = std::mem::take(&mut *CLOSED.lock().unwrap_or_else(|e| e.into_inner()));
    let n = gone.len();
    unmap(gone);
    n
}
