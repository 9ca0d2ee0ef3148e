//! Reaching every thread of the process: what installing initial-exec TLS needs.
//!
//! Owns [`with_every_thread`]: runs a function with the thread pointer of each
//! thread that exists, while no thread can be created or exit, so that a write
//! at a fixed offset from each thread pointer reaches every thread, present and
//! (through the C library's TLS template, written under the same exclusion)
//! future. What can be reached depends on the host's C library:
//!
//! - a static musl executable: musl's own thread list (each `struct pthread`,
//!   whose address is the thread pointer, links the next one), walked with thread
//!   creation inhibited (`__inhibit_ptc`, the lock musl's own `dlopen` takes) and
//!   the list locked (`__tl_lock`), so a thread being created has either copied
//!   the template after the change or is not running yet;
//! - a glibc process: only while it has never been multi-threaded
//!   (`__libc_single_threaded`), when the calling thread is the only one;
//! - anything else: the calling thread alone, and only if it is the only thread
//!   (which cannot be known: such hosts are reported as unreachable).
//!
//! It does not decide what to write (`static_tls` does).
//!
//! Unsafe code is allowed in this module: it calls musl's internal locks and reads
//! its thread list, a layout musl keeps stable for its own assembly (`self`
//! first) and its `dlopen` (`prev`, `next`).
#![allow(unsafe_code)]

use crate::arch::{Arch, Native};

/// Other threads exist that this host does not let the loader reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unreachable;

/// Run `f(tp)` for the thread pointer of every thread of the process (the
/// calling thread's included), while threads can neither be created nor exit,
/// and `then()` once under the same exclusion (to update what new threads copy).
pub(crate) fn with_every_thread(
    mut f: impl FnMut(usize),
    then: impl FnOnce(),
) -> Result<(), Unreachable> {
    imp::with_every_thread(&mut f, then)
}

#[cfg(all(target_env = "musl", target_feature = "crt-static"))]
mod imp {
    use super::*;

    extern "C" {
        /// Blocks `pthread_create` (it takes this lock for reading first).
        fn __inhibit_ptc();
        fn __release_ptc();
        /// The thread list lock: no thread joins or leaves the list.
        fn __tl_lock();
        fn __tl_unlock();
    }

    /// `struct pthread`: `self`, `dtv`, `prev`, `next`, ... on x86-64.
    const NEXT: usize = 3 * std::mem::size_of::<usize>();

    pub(super) fn with_every_thread(
        f: &mut dyn FnMut(usize),
        then: impl FnOnce(),
    ) -> Result<(), Unreachable> {
        let me = <Native as Arch>::thread_pointer();
        // SAFETY: musl's own locks, taken in the order its dlopen takes them and
        // released below; while both are held the list is stable and every
        // thread in it is alive. `me` is this thread's `struct pthread`, whose
        // `next` links the ring of all threads.
        unsafe {
            __inhibit_ptc();
            __tl_lock();
            let mut t = me;
            let mut guard = 0usize;
            loop {
                f(t);
                t = ((t + NEXT) as *const usize).read();
                guard += 1;
                if t == me || t == 0 || guard > 1 << 20 {
                    break;
                }
            }
            then();
            __tl_unlock();
            __release_ptc();
        }
        Ok(())
    }
}

#[cfg(all(target_env = "gnu", target_os = "linux"))]
mod imp {
    use super::*;

    extern "C" {
        /// glibc 2.32: non-zero while the process has never created a thread.
        static __libc_single_threaded: u8;
    }

    pub(super) fn with_every_thread(
        f: &mut dyn FnMut(usize),
        then: impl FnOnce(),
    ) -> Result<(), Unreachable> {
        // SAFETY: a byte glibc writes only when the first thread is created.
        let single = unsafe { std::ptr::read_volatile(&raw const __libc_single_threaded) } != 0;
        if !single {
            return Err(Unreachable);
        }
        f(<Native as Arch>::thread_pointer());
        then();
        Ok(())
    }
}

#[cfg(not(any(
    all(target_env = "musl", target_feature = "crt-static"),
    all(target_env = "gnu", target_os = "linux")
)))]
mod imp {
    use super::*;

    pub(super) fn with_every_thread(
        _: &mut dyn FnMut(usize),
        _: impl FnOnce(),
    ) -> Result<(), Unreachable> {
        Err(Unreachable)
    }
}
