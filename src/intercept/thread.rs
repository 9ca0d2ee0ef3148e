//! Per-thread state of the traps: the re-entrancy guard, suspension, the depth,
//! `errno`'s address, and per-thread interceptors.
//!
//! Owns [`local`] and its [`LocalGuard`] (xgo's per-goroutine interceptors: they
//! see every trapped call of the thread that made them, after the global
//! chain), [`suspend_current_thread`] and its [`Suspended`] guard, and the
//! thread state `dispatch.rs` reads on every call (constant-initialised, no
//! destructor, so reading it costs a thread-pointer offset). An interceptor
//! removed while the thread is inside a trapped call is kept until the thread
//! has left all of them, so a frame never points at a dropped hook. It does not
//! run hooks (`dispatch.rs`).
//!
//! Unsafe code is allowed in this module: `errno` is reached through the C
//! library's `__errno_location`.
#![allow(unsafe_code)]

use std::cell::{Cell, RefCell};
use std::ffi::c_int;
use std::marker::PhantomData;

use super::interceptor::Interceptor;

extern "C" {
    /// The calling thread's `errno` (glibc and musl).
    fn __errno_location() -> *mut c_int;
}

/// What every trapped call reads of its thread.
pub(crate) struct State {
    /// A hook of this thread is running: its calls go straight through.
    pub busy: Cell<bool>,
    /// `suspend_current_thread` guards alive.
    pub suspended: Cell<u32>,
    /// Trapped calls with a post running.
    pub depth: Cell<u32>,
    /// Per-thread interceptors of this thread.
    pub locals: Cell<u32>,
    /// Retired per-thread interceptors wait for `depth` to reach 0.
    pub retired: Cell<bool>,
    errno: Cell<*mut c_int>,
}

thread_local! {
    static STATE: State = const {
        State {
            busy: Cell::new(false),
            suspended: Cell::new(0),
            depth: Cell::new(0),
            locals: Cell::new(0),
            retired: Cell::new(false),
            errno: Cell::new(std::ptr::null_mut()),
        }
    };
    static LOCALS: RefCell<Locals> = const { RefCell::new(Locals { live: Vec::new(), retired: Vec::new() }) };
}

struct Locals {
    live: Vec<(u64, Interceptor)>,
    retired: Vec<Interceptor>,
}

/// Runs `f` with this thread's state.
#[inline(always)]
pub(crate) fn with<R>(f: impl FnOnce(&State) -> R) -> R {
    STATE.with(f)
}

impl State {
    fn errno_ptr(&self) -> *mut c_int {
        let mut p = self.errno.get();
        if p.is_null() {
            // SAFETY: `__errno_location` has no preconditions; the address is
            // this thread's for its whole life.
            p = unsafe { __errno_location() };
            self.errno.set(p);
        }
        p
    }

    /// This thread's `errno`.
    #[inline]
    pub fn errno(&self) -> i32 {
        // SAFETY: the thread's own errno, valid for its life.
        unsafe { *self.errno_ptr() }
    }

    /// Sets this thread's `errno`.
    #[inline]
    pub fn set_errno(&self, value: i32) {
        // SAFETY: as in `errno`.
        unsafe { *self.errno_ptr() = value }
    }

    /// Drops retired per-thread interceptors once no frame of this thread can
    /// point at them.
    #[inline(always)]
    pub fn collect(&self) {
        if self.retired.get() && self.depth.get() == 0 && !self.busy.get() {
            self.drop_retired();
        }
    }

    #[cold]
    #[inline(never)]
    fn drop_retired(&self) {
        self.retired.set(false);
        let _ = LOCALS.try_with(|l| {
            if let Ok(mut l) = l.try_borrow_mut() {
                let old = std::mem::take(&mut l.retired);
                drop(l);
                drop(old);
            } else {
                // Being changed (a signal handler's call): next time.
                self.retired.set(true);
            }
        });
    }
}

/// Appends this thread's per-thread interceptors (their hooks) to `out`. None
/// while the list is being changed on this thread (a call made from a signal
/// handler that interrupted `local` or a guard's drop).
pub(crate) fn local_hooks(out: &mut impl FnMut(*const ())) {
    let _ = LOCALS.try_with(|l| {
        if let Ok(l) = l.try_borrow() {
            for (_, i) in &l.live {
                out(std::sync::Arc::as_ptr(&i.hooks) as *const ());
            }
        }
    });
}

/// A per-thread interceptor; dropping it removes the interceptor.
///
/// Not `Send`: it belongs to the thread that made it.
#[must_use = "dropping the guard removes the interceptor at once"]
pub struct LocalGuard {
    id: u64,
    _thread: PhantomData<*const ()>,
}

impl std::fmt::Debug for LocalGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalGuard").field("id", &self.id).finish()
    }
}

/// Adds `interceptor` for the calling thread only (like xgo's per-goroutine
/// interceptors): it sees every trapped call this thread makes, after the
/// interceptors registered for the site, until the guard is dropped. Calls are
/// trapped only where something selected them (an interceptor with no hooks,
/// [`Interceptor::new`], selects without doing anything).
///
/// ```
/// use staticdl::intercept::{self, Flow, Interceptor};
/// let guard = intercept::local(Interceptor::new().pre(|call| {
///     eprintln!("this thread calls {}", call.symbol());
///     Flow::Continue
/// }));
/// drop(guard); // removed
/// ```
pub fn local(interceptor: Interceptor) -> LocalGuard {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    LOCALS.with(|l| l.borrow_mut().live.push((id, interceptor)));
    STATE.with(|s| s.locals.set(s.locals.get() + 1));
    super::site::locals_changed(1);
    LocalGuard {
        id,
        _thread: PhantomData,
    }
}

impl Drop for LocalGuard {
    fn drop(&mut self) {
        let removed = LOCALS.try_with(|l| {
            let mut l = l.borrow_mut();
            let at = l.live.iter().position(|(id, _)| *id == self.id)?;
            let (_, i) = l.live.remove(at);
            l.retired.push(i);
            Some(())
        });
        if let Ok(Some(())) = removed {
            let _ = STATE.try_with(|s| {
                s.locals.set(s.locals.get().saturating_sub(1));
                s.retired.set(true);
                s.collect();
            });
            super::site::locals_changed(-1);
        }
    }
}

/// While the returned guard lives, no interceptor runs for calls the calling
/// thread makes: they go straight to their targets (a post already waiting
/// still runs).
///
/// ```
/// let quiet = staticdl::intercept::suspend_current_thread();
/// // ... calls here are not intercepted ...
/// drop(quiet);
/// ```
pub fn suspend_current_thread() -> Suspended {
    STATE.with(|s| s.suspended.set(s.suspended.get() + 1));
    Suspended {
        _thread: PhantomData,
    }
}

/// The guard of [`suspend_current_thread`]; not `Send`.
#[must_use = "dropping the guard ends the suspension at once"]
#[derive(Debug)]
pub struct Suspended {
    _thread: PhantomData<*const ()>,
}

impl Drop for Suspended {
    fn drop(&mut self) {
        let _ = STATE.try_with(|s| s.suspended.set(s.suspended.get().saturating_sub(1)));
    }
}
