//! Per-thread destructors registered by plugins (`__cxa_thread_atexit_impl`).
//!
//! Owns the calling thread's list of `(destructor, object, keep-alive)` entries.
//! Each entry holds the load group of the object whose `__dso_handle` was
//! given, so that object is not unmapped while a destructor pointing into it is
//! pending (glibc's rule): an unload requested meanwhile completes when the last such
//! thread exits. Destructors run at thread exit in reverse order of registration.
//!
//! Unsafe code is allowed in this module: per-thread destructor lists are leaked boxes
//! that must stay usable while other thread-local destructors run, and the destructors
//! are foreign functions.
#![allow(unsafe_code)]

use std::cell::Cell;
use std::ffi::{c_int, c_void};

use super::objects::Owner;

type Dtor = unsafe extern "C" fn(*mut c_void);

struct Entry {
    dtor: Dtor,
    obj: *mut c_void,
    _keep: Option<Owner>,
}

thread_local! {
    /// Keep-alive handles of destructors that ran, released in the last round.
    static KEEP: Cell<*mut Vec<Owner>> = const { Cell::new(std::ptr::null_mut()) };
    /// This thread's pending destructors (a leaked `Vec`, so it stays usable while
    /// other thread-local destructors run).
    static LIST: Cell<*mut Vec<Entry>> = const { Cell::new(std::ptr::null_mut()) };
}

/// `__cxa_thread_atexit_impl(dtor, obj, dso_symbol)`.
unsafe extern "C" fn cxa_thread_atexit_impl(
    dtor: Option<Dtor>,
    obj: *mut c_void,
    dso: *mut c_void,
) -> c_int {
    let Some(dtor) = dtor else { return -1 };
    let keep = super::owner_containing(dso as usize).map(|(owner, _)| owner);
    let list = LIST.with(|l| {
        if l.get().is_null() {
            l.set(Box::into_raw(Box::default()));
        }
        l.get()
    });
    // SAFETY: `list` is this thread's own leaked Vec; no other thread touches it,
    // and `run` does not hold a reference across destructor calls.
    unsafe {
        (*list).push(Entry {
            dtor,
            obj,
            _keep: keep,
        })
    };
    super::arm_thread_exit();
    0
}

/// Run this thread's destructors, newest first, including any registered while
/// running; then free the list.
pub(crate) fn run() {
    loop {
        let list = LIST.with(|l| l.get());
        if list.is_null() {
            return;
        }
        // SAFETY: this thread's own list; the borrow ends before the call below.
        let next = unsafe { (*list).pop() };
        match next {
            Some(e) => {
                // SAFETY: the destructor and object were registered together by the
                // object's code; the object stays loaded through `e._keep`.
                unsafe { (e.dtor)(e.obj) };
                if let Some(lib) = e._keep {
                    let keep = KEEP.with(|k| {
                        if k.get().is_null() {
                            k.set(Box::into_raw(Box::default()));
                        }
                        k.get()
                    });
                    // SAFETY: this thread's own leaked Vec.
                    unsafe { (*keep).push(lib) };
                }
            }
            None => {
                LIST.with(|l| l.set(std::ptr::null_mut()));
                // SAFETY: created by `Box::into_raw` above and now unreachable.
                drop(unsafe { Box::from_raw(list) });
                return;
            }
        }
    }
}

/// Release the handles kept for destructors that ran (the last destructor round).
pub(crate) fn release() {
    let keep = KEEP.with(|k| k.replace(std::ptr::null_mut()));
    if !keep.is_null() {
        // SAFETY: created by `Box::into_raw` above and now unreachable.
        drop(unsafe { Box::from_raw(keep) });
    }
}

/// The address of the loader's `__cxa_thread_atexit_impl`, to hand to plugins
/// (glibc `GLIBC_2.18`): Rust's `thread_local!` with destructors and C++
/// `thread_local` objects register through it.
///
/// ```
/// assert_ne!(staticdl_loader::runtime::cxa_thread_atexit_impl_address(), 0);
/// ```
pub fn cxa_thread_atexit_impl_address() -> usize {
    cxa_thread_atexit_impl as unsafe extern "C" fn(Option<Dtor>, *mut c_void, *mut c_void) -> c_int
        as usize
}
