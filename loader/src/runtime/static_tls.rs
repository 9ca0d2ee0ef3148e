//! The static TLS surplus: where initial-exec TLS of loaded objects lives.
//!
//! Initial-exec code reaches its thread-local variables at a fixed offset from
//! the thread pointer (`R_X86_64_TPOFF64`), the same in every thread. A host that
//! was not linked with such an object has no room for it there, so the loader
//! brings its own: [`SURPLUS`], a block of thread-local storage that is part of the
//! executable's own `PT_TLS`. Every thread has it, at one fixed offset from its
//! thread pointer, and the C library (musl or glibc) copies the executable's TLS
//! initialisation image — which holds the surplus, because it has a non-zero
//! marker — into every thread it creates.
//!
//! Owns the surplus, its geometry (offset from the thread pointer, and where the
//! executable's TLS template holds it), and the allocation of ranges in it:
//! [`reserve`] places a module's block with its alignment, [`install`] writes the
//! module's initialisation image into every thread that exists and into the
//! template (so threads created later copy it), and [`release`] returns a range:
//! zeroed in every thread and the template before it is reused, or never reused
//! when not every thread can be reached. Which threads can be reached is
//! `threads`'s business. The size is fixed when the host is built
//! (`STATICDL_STATIC_TLS_SIZE`, default 2048 bytes).
//!
//! Unsafe code is allowed in this module: it writes module images into other
//! threads' copies of the surplus, at the offset every thread shares, while no
//! thread can be created or exit.
#![allow(unsafe_code)]

use std::cell::UnsafeCell;
use std::sync::Mutex;

use super::exe;
use super::threads::{self, Unreachable};
use crate::arch::{Arch, Native};

/// The surplus's size in bytes (a multiple of 64, at least 128).
pub(crate) const SIZE: usize = {
    let asked = match option_env!("STATICDL_STATIC_TLS_SIZE") {
        Some(s) => parse(s.as_bytes()),
        None => 2048,
    };
    let n = if asked < 128 { 128 } else { asked };
    (n + 63) & !63
};

/// Bytes at the start of the surplus that hold its marker (never handed out).
const HEAD: usize = 64;

/// The marker the template search looks for; non-zero, which also puts the
/// surplus in `.tdata` (a zero initialiser would put it in `.tbss`, whose bytes
/// are not copied from the template).
const MAGIC: [u8; 16] = *b"staticdl-surplus";

const fn parse(s: &[u8]) -> usize {
    let mut n = 0usize;
    let mut i = 0;
    while i < s.len() {
        let d = s[i];
        assert!(
            d.is_ascii_digit(),
            "STATICDL_STATIC_TLS_SIZE must be a number of bytes"
        );
        n = n * 10 + (d - b'0') as usize;
        i += 1;
    }
    n
}

const fn initial() -> [u8; SIZE] {
    let mut a = [0u8; SIZE];
    let mut i = 0;
    while i < MAGIC.len() {
        a[i] = MAGIC[i];
        i += 1;
    }
    a
}

/// The surplus itself: aligned to 64 in every thread.
#[repr(C, align(64))]
struct Surplus(UnsafeCell<[u8; SIZE]>);

thread_local! {
    static SURPLUS: Surplus = const { Surplus(UnsafeCell::new(initial())) };
}

/// Where the surplus is: its offset from every thread's thread pointer, and its
/// address in the executable's TLS template.
#[derive(Clone, Copy)]
struct Geometry {
    tpoff: isize,
    template: usize,
}

/// Why a block could not be placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReserveError {
    /// Not enough room: `available` bytes are free (in the largest usable gap)
    /// of `total`.
    Exhausted { available: usize, total: usize },
    /// The block's alignment is larger than the surplus guarantees (64).
    Alignment,
    /// This host has no surplus in its executable's TLS template (the loader is
    /// not part of the executable, or its TLS image could not be found).
    NoSurplus,
}

struct State {
    geometry: Option<Option<Geometry>>,
    /// Clean ranges (zero in every thread and in the template), `[start, end)`
    /// offsets into the surplus.
    free: Vec<(usize, usize)>,
    /// Everything from here to the end is clean and unused.
    top: usize,
    /// Bytes of released ranges that could not be zeroed everywhere, never reused.
    leaked: usize,
}

static STATE: Mutex<State> = Mutex::new(State {
    geometry: None,
    free: Vec::new(),
    top: HEAD,
    leaked: 0,
});

fn state() -> std::sync::MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

fn geometry(st: &mut State) -> Option<Geometry> {
    *st.geometry.get_or_insert_with(find)
}

/// Find the surplus: in this thread (its offset from the thread pointer) and in
/// the executable's TLS template (by its marker).
fn find() -> Option<Geometry> {
    let mine = SURPLUS.with(|s| s.0.get() as usize);
    let tp = <Native as Arch>::thread_pointer();
    let tls = exe::executable().tls?;
    if tls.filesz < MAGIC.len() {
        return None;
    }
    // SAFETY: [image, image + filesz) is the executable's mapped TLS
    // initialisation image (its PT_TLS), readable for the life of the process.
    let image = unsafe { std::slice::from_raw_parts(tls.image as *const u8, tls.filesz) };
    let at = (0..=image.len() - MAGIC.len())
        .step_by(8)
        .find(|&i| image[i..i + MAGIC.len()] == MAGIC)?;
    // The whole surplus must lie in the copied image.
    (at + SIZE <= image.len()).then_some(Geometry {
        tpoff: mine.wrapping_sub(tp) as isize,
        template: tls.image + at,
    })
}

/// Place a block of `size` bytes aligned to `align`; returns its offset from the
/// thread pointer. The range is clean: zero in every thread and the template.
pub(crate) fn reserve(size: usize, align: usize) -> Result<isize, ReserveError> {
    let mut st = state();
    let g = geometry(&mut st).ok_or(ReserveError::NoSurplus)?;
    if align > 64 {
        return Err(ReserveError::Alignment);
    }
    let align = align.max(1);
    let size = size.max(1);
    let fit = |start: usize, end: usize| {
        let s = (start + align - 1) & !(align - 1);
        (s + size <= end).then_some(s)
    };
    for i in 0..st.free.len() {
        let (start, end) = st.free[i];
        if let Some(s) = fit(start, end) {
            st.free.remove(i);
            if s > start {
                st.free.push((start, s));
            }
            if s + size < end {
                st.free.push((s + size, end));
            }
            return Ok(g.tpoff + s as isize);
        }
    }
    match fit(st.top, SIZE) {
        Some(s) => {
            if s > st.top {
                let top = st.top;
                st.free.push((top, s));
            }
            st.top = s + size;
            Ok(g.tpoff + s as isize)
        }
        None => {
            let largest = st
                .free
                .iter()
                .map(|(a, b)| b - a)
                .chain(std::iter::once(SIZE - st.top))
                .max()
                .unwrap_or(0);
            Err(ReserveError::Exhausted {
                available: largest,
                total: SIZE - HEAD,
            })
        }
    }
}

/// Write `image` followed by zeros up to `memsz` at the block `tpoff` in every
/// thread and in the template. A block that is all zero needs no write (its
/// range is clean), so it succeeds even when other threads cannot be reached.
pub(crate) fn install(tpoff: isize, image: &[u8], memsz: usize) -> Result<(), Unreachable> {
    if image.iter().all(|&b| b == 0) {
        return Ok(());
    }
    let mut st = state();
    let Some(g) = geometry(&mut st) else {
        return Err(Unreachable);
    };
    let write = |at: usize| {
        // SAFETY: `at` is a block reserved in the surplus of a live thread (or
        // of the template), `memsz` bytes inside the surplus; nothing reads it
        // before the load that installs it completes.
        unsafe {
            std::ptr::copy_nonoverlapping(image.as_ptr(), at as *mut u8, image.len());
            std::ptr::write_bytes((at + image.len()) as *mut u8, 0, memsz - image.len());
        }
    };
    let off = (tpoff - g.tpoff) as usize;
    let template = g.template + off;
    let mut template_ok = true;
    threads::with_every_thread(
        |tp| write(tp.wrapping_add(tpoff as usize)),
        || template_ok = exe::with_writable(template, memsz, || write(template)),
    )?;
    if template_ok {
        Ok(())
    } else {
        Err(Unreachable)
    }
}

/// Give back the block `tpoff` of `size` bytes. A block that was installed
/// (`dirty`: its image written, or its code run) is zeroed in every thread and
/// the template first; if that is not possible it is never reused.
pub(crate) fn release(tpoff: isize, size: usize, dirty: bool) {
    let mut st = state();
    let Some(g) = geometry(&mut st) else { return };
    let size = size.max(1);
    let off = (tpoff - g.tpoff) as usize;
    if dirty {
        let zero = |at: usize| {
            // SAFETY: as in `install`: the block lies in the surplus of a live
            // thread (or the template), and its module is gone.
            unsafe { std::ptr::write_bytes(at as *mut u8, 0, size) }
        };
        let template = g.template + off;
        let mut template_ok = true;
        let reached = threads::with_every_thread(
            |tp| zero(tp.wrapping_add(tpoff as usize)),
            || template_ok = exe::with_writable(template, size, || zero(template)),
        );
        if reached.is_err() || !template_ok {
            st.leaked += size;
            return;
        }
    }
    st.free.push((off, off + size));
    coalesce(&mut st);
}

/// Merge adjacent free ranges, and fold a range that ends at the top back in.
fn coalesce(st: &mut State) {
    st.free.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(st.free.len());
    for &(a, b) in &st.free {
        match merged.last_mut() {
            Some(last) if last.1 == a => last.1 = b,
            _ => merged.push((a, b)),
        }
    }
    while let Some(&(a, b)) = merged.last() {
        if b == st.top {
            st.top = a;
            merged.pop();
        } else {
            break;
        }
    }
    st.free = merged;
}

/// The surplus's size, the bytes handed out now, and the bytes lost to ranges
/// that could not be zeroed in every thread.
///
/// ```
/// let (total, used, lost) = staticdl_loader::runtime::static_tls_usage();
/// assert!(used + lost <= total);
/// ```
pub fn static_tls_usage() -> (usize, usize, usize) {
    let st = state();
    let free: usize = st.free.iter().map(|(a, b)| b - a).sum();
    let used = st.top - HEAD - free - st.leaked;
    (SIZE - HEAD, used, st.leaked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_as_decimal_byte_counts() {
        assert_eq!(parse(b"4096"), 4096);
        assert_eq!(parse(b"0"), 0);
        const { assert!(SIZE % 64 == 0 && SIZE >= 128) };
    }

    #[test]
    fn the_surplus_is_found_in_the_executable_template() {
        let mut st = state();
        let g = geometry(&mut st).expect("the test executable carries the surplus");
        // The template's bytes start with the marker.
        // SAFETY: the template lies in the executable's mapped TLS image.
        let head = unsafe { std::slice::from_raw_parts(g.template as *const u8, MAGIC.len()) };
        assert_eq!(head, MAGIC);
        // This thread's copy is at the offset every thread shares.
        let mine = SURPLUS.with(|s| s.0.get() as usize);
        let tp = <Native as Arch>::thread_pointer();
        assert_eq!(tp.wrapping_add(g.tpoff as usize), mine);
        // Another thread's copy sits at the same offset from its own pointer.
        let other = std::thread::spawn(|| {
            let mine = SURPLUS.with(|s| s.0.get() as usize);
            mine.wrapping_sub(<Native as Arch>::thread_pointer()) as isize
        })
        .join()
        .unwrap();
        assert_eq!(other, g.tpoff);
    }
}
