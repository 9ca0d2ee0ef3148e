//! Process-wide registrations: interceptors for every object the facade loads
//! from now on (what a preloaded plugin asks for through the C entry point).
//!
//! Owns [`register`] and [`Registration`], and the list every load takes a
//! snapshot of when its options are made. It does not trap anything itself
//! (`bind.rs` traps imports during the load, `exports.rs` the opened object's
//! exports after it).
//!
//! Unsafe code is allowed in this module: [`register`] is an `unsafe fn` (its
//! caller vouches for the selection, as for `OpenOptions::intercept`).
#![allow(unsafe_code)]

use std::sync::{Arc, RwLock};

use super::interceptor::Interceptor;
use super::request::Request;
use super::select::Selection;
use super::site;

static REGISTERED: RwLock<Option<Arc<Vec<Request>>>> = RwLock::new(None);

/// The registrations as they are now (empty if there are none).
pub(crate) fn snapshot() -> Arc<Vec<Request>> {
    REGISTERED
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default()
}

fn change(f: impl FnOnce(&mut Vec<Request>)) {
    let mut r = REGISTERED.write().unwrap_or_else(|e| e.into_inner());
    let mut list: Vec<Request> = r.as_deref().cloned().unwrap_or_default();
    f(&mut list);
    *r = Some(Arc::new(list));
}

/// A process-wide interceptor; dropping it (or [`Registration::remove`])
/// unregisters it and unlinks it from every call it was trapping.
#[must_use = "dropping the registration removes the interceptor at once"]
#[derive(Debug)]
pub struct Registration {
    id: u64,
}

impl Registration {
    /// Unregisters now (the same as dropping it).
    ///
    /// ```no_run
    /// use staticdl::intercept::{self, Imports, Interceptor};
    /// // SAFETY: a trap with no hooks changes no call.
    /// let r = unsafe { intercept::register(Imports::matching("malloc"), Interceptor::new()) };
    /// r.remove();
    /// ```
    pub fn remove(self) {}

    /// Keeps it registered for the rest of the process.
    ///
    /// ```no_run
    /// use staticdl::intercept::{self, Imports, Interceptor};
    /// // SAFETY: a trap with no hooks changes no call.
    /// unsafe { intercept::register(Imports::matching("malloc"), Interceptor::new()) }.forever();
    /// ```
    pub fn forever(self) {
        std::mem::forget(self);
    }

    /// The registration's id (what the C entry point returns for it).
    pub(crate) fn id(&self) -> u64 {
        self.id
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let id = self.id;
        change(|l| l.retain(|r| r.id != id));
        // Sites it leaves without links go straight to their targets again.
        let _ = site::unlink(id);
    }
}

/// Registers `interceptor` for every object loaded through the facade from now
/// on ([`Plugin::open`](crate::Plugin::open), [`OpenOptions::open`](crate::OpenOptions::open),
/// preloading): imports selected by an [`Imports`](super::Imports) are trapped
/// in every object of such a load, exports selected by an
/// [`Exports`](super::Exports) in the object opened. Objects already loaded are
/// left alone (use [`attach`](super::attach)), and so are objects that plugins
/// load themselves with `dlopen`.
///
/// # Safety
/// As for [`OpenOptions::intercept`](crate::OpenOptions::intercept): every
/// selected symbol is a function with the C calling convention, and calls that
/// run a post take no more stack arguments than the interceptor's window.
///
/// ```no_run
/// use staticdl::intercept::{self, Exports, Flow, Interceptor};
/// let count = Interceptor::new().pre(|call| { eprintln!("{}", call.symbol()); Flow::Continue });
/// // SAFETY: handlers are C functions of two pointer arguments.
/// let registration = unsafe { intercept::register(Exports::handlers(), count) };
/// let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
/// # drop((plugin, registration));
/// # Ok::<(), staticdl::Error>(())
/// ```
pub unsafe fn register(selection: impl Into<Selection>, interceptor: Interceptor) -> Registration {
    let request = Request::new(selection.into(), interceptor);
    let id = request.id;
    change(|l| l.push(request));
    Registration { id }
}
