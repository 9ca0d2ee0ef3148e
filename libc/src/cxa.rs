//! Exit-time and fork-time registries keyed by the registering object:
//! `__cxa_atexit` / `__cxa_finalize`, `atexit`, and `__register_atfork` /
//! `pthread_atfork`.
//!
//! Owns the two process-wide lists and the unload safety net. glibc's contract:
//! `__cxa_atexit(f, arg, dso)` records `f(arg)` under the object whose
//! `__dso_handle` is `dso`; the object's own fini code calls
//! `__cxa_finalize(dso)`, which runs that object's entries newest first (and
//! forgets its fork handlers); process exit runs whatever is left. Because an
//! object may lack that fini code, every entry whose `dso` or function lies in
//! an object being unloaded runs (or, for fork handlers, is dropped) when the
//! loader reports the object's range, before the memory goes away.
//!
//! Per-thread destructors (`__cxa_thread_atexit_impl`) are the loader runtime's;
//! this file does not own them.
//!
//! Unsafe code is allowed in this module: the exit and fork registries hold and call C
//! function pointers that plugins registered.
#![allow(unsafe_code)]

use std::cell::UnsafeCell;
use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};

type Func = unsafe extern "C" fn(*mut c_void);
type Hook = unsafe extern "C" fn();

struct AtExit {
    func: Func,
    arg: usize,
    dso: usize,
}

static AT_EXIT: Mutex<Vec<AtExit>> = Mutex::new(Vec::new());
static EXIT_HOOK: Once = Once::new();

/// `int __cxa_atexit(void (*)(void *), void *arg, void *dso_handle)`.
pub(super) unsafe extern "C" fn cxa_atexit(
    func: Option<Func>,
    arg: *mut c_void,
    dso: *mut c_void,
) -> c_int {
    let Some(func) = func else { return -1 };
    EXIT_HOOK.call_once(|| {
        // SAFETY: registers a plain function with the host C library; it runs
        // once at exit.
        unsafe { libc::atexit(run_at_exit) };
    });
    lock(&AT_EXIT).push(AtExit {
        func,
        arg: arg as usize,
        dso: dso as usize,
    });
    0
}

/// `int atexit(void (*)(void))` when a plugin imports it (glibc links it into
/// each object from `libc_nonshared.a`, so few do): recorded with no object,
/// and found by the function's address when its object is unloaded.
pub(super) unsafe extern "C" fn atexit(func: Option<Hook>) -> c_int {
    let Some(func) = func else { return -1 };
    // SAFETY: a `void (*)(void)` called with one ignored argument is sound on
    // x86-64: the extra argument register is simply not read.
    let func: Func = unsafe { std::mem::transmute::<Hook, Func>(func) };
    // SAFETY: as `cxa_atexit`.
    unsafe { cxa_atexit(Some(func), std::ptr::null_mut(), std::ptr::null_mut()) }
}

/// `void __cxa_finalize(void *dso)`: run `dso`'s entries (all entries for
/// null), newest first, and forget `dso`'s fork handlers.
pub(super) unsafe extern "C" fn cxa_finalize(dso: *mut c_void) {
    let dso = dso as usize;
    run_matching(|e| dso == 0 || e.dso == dso);
    if dso != 0 {
        forget_fork_handlers(|h| h.dso == dso);
    }
}

extern "C" fn run_at_exit() {
    run_matching(|_| true);
}

/// Run (and remove) the entries `pred` selects, newest first, including any
/// registered meanwhile. The lock is not held during a call.
fn run_matching(pred: impl Fn(&AtExit) -> bool) {
    loop {
        let next = {
            let mut list = lock(&AT_EXIT);
            match list.iter().rposition(&pred) {
                Some(i) => list.remove(i),
                None => return,
            }
        };
        // SAFETY: the function and argument were registered together by code that
        // is still loaded (entries are removed before their object is unmapped).
        unsafe { (next.func)(next.arg as *mut c_void) };
    }
}

/// The loader's unload hook: `start..start + len` is about to be unmapped.
pub(super) fn on_unload(start: usize, len: usize) {
    let inside = |a: usize| a >= start && a - start < len;
    run_matching(|e| inside(e.dso) || inside(e.func as usize));
    forget_fork_handlers(|h| {
        inside(h.dso)
            || [h.prepare, h.parent, h.child]
                .iter()
                .flatten()
                .any(|f| inside(*f as usize))
    });
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

// ---- fork handlers ----

#[derive(Clone, Copy)]
struct ForkHandler {
    prepare: Option<Hook>,
    parent: Option<Hook>,
    child: Option<Hook>,
    dso: usize,
}

/// The fork handlers, behind a lock that `fork` holds from the prepare phase to
/// the parent and child phases (as glibc holds its own), so the list cannot
/// change under a fork. A spin lock because the child must release it without
/// the owning thread.
struct ForkList {
    locked: AtomicBool,
    list: UnsafeCell<Vec<ForkHandler>>,
}

// SAFETY: `list` is only touched with `locked` held.
unsafe impl Sync for ForkList {}

static FORK: ForkList = ForkList {
    locked: AtomicBool::new(false),
    list: UnsafeCell::new(Vec::new()),
};
static FORK_HOOK: Once = Once::new();

impl ForkList {
    fn acquire(&self) {
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::thread::yield_now();
        }
    }

    fn release(&self) {
        self.locked.store(false, Ordering::Release);
    }

    /// Run `f` on the list with the lock held.
    fn with<R>(&self, f: impl FnOnce(&mut Vec<ForkHandler>) -> R) -> R {
        self.acquire();
        // SAFETY: the lock is held until `release` below.
        let r = f(unsafe { &mut *self.list.get() });
        self.release();
        r
    }

    /// A copy of the list; the caller holds the lock.
    fn snapshot_locked(&self) -> Vec<ForkHandler> {
        // SAFETY: the caller holds the lock.
        unsafe { (*self.list.get()).clone() }
    }
}

/// `int __register_atfork(prepare, parent, child, void *dso_handle)` (what
/// glibc's `pthread_atfork` in `libc_nonshared.a` calls).
pub(super) unsafe extern "C" fn register_atfork(
    prepare: Option<Hook>,
    parent: Option<Hook>,
    child: Option<Hook>,
    dso: *mut c_void,
) -> c_int {
    FORK_HOOK.call_once(|| {
        // SAFETY: registers three plain functions with the host C library.
        unsafe { libc::pthread_atfork(Some(fork_prepare), Some(fork_parent), Some(fork_child)) };
    });
    FORK.with(|l| {
        l.push(ForkHandler {
            prepare,
            parent,
            child,
            dso: dso as usize,
        })
    });
    0
}

/// `int pthread_atfork(prepare, parent, child)` when a plugin imports it.
pub(super) unsafe extern "C" fn pthread_atfork(
    prepare: Option<Hook>,
    parent: Option<Hook>,
    child: Option<Hook>,
) -> c_int {
    // SAFETY: as `register_atfork`; found by its functions' addresses at unload.
    unsafe { register_atfork(prepare, parent, child, std::ptr::null_mut()) }
}

fn forget_fork_handlers(pred: impl Fn(&ForkHandler) -> bool) {
    FORK.with(|l| l.retain(|h| !pred(h)));
}

/// Prepare handlers run newest first, as glibc runs them; the lock stays held
/// until the parent or child phase.
unsafe extern "C" fn fork_prepare() {
    FORK.acquire();
    for h in FORK.snapshot_locked().iter().rev() {
        if let Some(f) = h.prepare {
            // SAFETY: registered by code that is still loaded (handlers are
            // dropped before their object is unmapped, which needs this lock).
            unsafe { f() };
        }
    }
}

unsafe extern "C" fn fork_parent() {
    for h in FORK.snapshot_locked().iter() {
        if let Some(f) = h.parent {
            // SAFETY: as in `fork_prepare`.
            unsafe { f() };
        }
    }
    FORK.release();
}

unsafe extern "C" fn fork_child() {
    for h in FORK.snapshot_locked().iter() {
        if let Some(f) = h.child {
            // SAFETY: as in `fork_prepare`.
            unsafe { f() };
        }
    }
    FORK.release();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    static ORDER: Mutex<Vec<usize>> = Mutex::new(Vec::new());

    unsafe extern "C" fn record(arg: *mut c_void) {
        lock(&ORDER).push(arg as usize);
    }

    #[test]
    fn finalize_runs_one_objects_entries_newest_first() {
        let dso_a = 0x1000_0000usize;
        let dso_b = 0x2000_0000usize;
        // SAFETY: `record` is a valid handler; the dso values are only keys.
        unsafe {
            let arg = |v: usize| std::ptr::without_provenance_mut::<c_void>(v);
            cxa_atexit(Some(record), arg(1), dso_a as *mut c_void);
            cxa_atexit(Some(record), arg(2), dso_b as *mut c_void);
            cxa_atexit(Some(record), arg(3), dso_a as *mut c_void);
            cxa_finalize(dso_a as *mut c_void);
        }
        assert_eq!(std::mem::take(&mut *lock(&ORDER)), [3, 1]);
        // The unload safety net picks up what is left in b's range.
        on_unload(dso_b - 8, 16);
        assert_eq!(std::mem::take(&mut *lock(&ORDER)), [2]);
        on_unload(dso_b - 8, 16);
        assert!(lock(&ORDER).is_empty());
    }

    static FORKED: AtomicUsize = AtomicUsize::new(0);
    unsafe extern "C" fn fork_count() {
        FORKED.fetch_add(1, Ordering::SeqCst);
    }

    #[test]
    fn fork_handlers_are_forgotten_with_their_object() {
        let dso = 0x3000_0000usize;
        // SAFETY: `fork_count` is a valid handler.
        unsafe { register_atfork(Some(fork_count), None, None, dso as *mut c_void) };
        // SAFETY: as in the real prepare phase, then released by the parent phase.
        unsafe {
            fork_prepare();
            fork_parent();
        }
        assert_eq!(FORKED.load(Ordering::SeqCst), 1);
        on_unload(dso, 1);
        // SAFETY: as above.
        unsafe {
            fork_prepare();
            fork_parent();
        }
        assert_eq!(FORKED.load(Ordering::SeqCst), 1);
    }
}
