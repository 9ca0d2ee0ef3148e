//! Call traps with pre and post interceptors, without patching code.
//!
//! staticdl relocates every object it loads, so it can bind the calls it is
//! asked to trap to stubs instead of their targets: the selected PLT slots (and,
//! on request, GOT entries and function pointers) of an object's imports
//! ([`Imports`]), or the addresses lookups hand out for an object's exports
//! ([`Exports`]). A stub is one of the loader's fixed entry points in `.text`
//! whose destination is data: it goes straight to the target while nothing
//! listens, and to one shared thunk otherwise. No memory is ever writable and
//! executable, and no instruction is written.
//!
//! The thunk is a real frame with CFI and never replaces the caller's return
//! address, so C++ exceptions, Rust panics, debuggers and profilers pass
//! through it. It runs a chain as xgo's traps do: the pres in registration
//! order (global interceptors, then the calling thread's own, [`local`]), the
//! first that returns [`Flow::Return`] stops the chain (a mock), the posts in
//! reverse for those whose pre ran. A call no post waits for continues to the
//! target with the caller's own stack and return address; a call with a post
//! is made by the thunk, with a window of the stack arguments copied (see
//! [Stack arguments](Interceptor#stack-arguments)). A hook's own calls go
//! straight through (a per-thread guard), `errno` reaches the caller as the
//! target left it, and a panic in a hook is caught and counts as continuing.
//!
//! Three ways in:
//! - [`OpenOptions::intercept`](crate::OpenOptions::intercept): for the plugin
//!   being opened (imports of every object of its load, exports of the plugin);
//! - [`attach`]: for a plugin already loaded (its slots are rewritten, RELRO
//!   opened briefly), undone by dropping the [`Attachment`];
//! - [`register`]: for every object loaded through the facade from now on, which
//!   is what a preloaded plugin asks for through the C entry point
//!   `staticdl_intercept` (declared in `src/intercept/staticdl_intercept.h`).
//!
//! ```no_run
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use std::sync::Arc;
//! use staticdl::intercept::{Flow, Imports, Interceptor};
//!
//! let calls = Arc::new(AtomicUsize::new(0));
//! let seen = calls.clone();
//! let trace = Interceptor::new().pre(move |call| {
//!     seen.fetch_add(1, Ordering::Relaxed);
//!     eprintln!("libz calls {}", call.symbol());
//!     Flow::Continue
//! });
//! // SAFETY: zlib's imports are C functions; the trace has no post.
//! let zlib = unsafe { staticdl::Plugin::options().intercept(Imports::matching("*"), trace) }
//!     .open("/lib/x86_64-linux-gnu/libz.so.1")?;
//! # drop(zlib);
//! # Ok::<(), staticdl::Error>(())
//! ```
//!
//! # Limits
//! - Bindings to IFUNCs an object defines itself are resolved after
//!   relocation and are not trapped; calls an object makes to its own hidden
//!   functions never go through a slot.
//! - The first 128 bits of the vector argument registers are kept; the upper
//!   halves of `%ymm`/`%zmm` arguments are not (hooks that use AVX may change
//!   them).
//! - Posts never run for functions that look at their own return address or
//!   return twice (`setjmp`, `vfork`, `getcontext`, `dlopen`, `dlsym`, ...):
//!   their calls always continue with the caller's frame.
//! - A call left by `longjmp` runs no post; neither does a call an exception
//!   leaves when the exception is driven by an unwinder a plugin keeps private
//!   (`-static-libgcc`: it still passes, by the thunk's CFI).
//! - Interceptors registered with [`register`] apply to objects the facade
//!   loads, not to those plugins load themselves with `dlopen`.
//! - 4096 stubs are shared with the loader's traps for unresolved functions;
//!   a binding selected when all are in use stays direct (said once on
//!   standard error).
//! - A replaced chain is freed when its site is: when the object the site
//!   belongs to is unloaded.

mod attach;
mod bind;
mod call;
mod capi;
mod dispatch;
mod exports;
mod frame;
mod global;
mod interceptor;
mod meta;
mod request;
mod select;
mod site;
mod thread;
mod thunk;

pub use attach::{attach, AttachError, Attachment};
pub use call::{Call, STACK_ARGS};
pub use capi::{CCall, PostFn, PreFn};
pub use global::{register, Registration};
pub use interceptor::{Flow, Interceptor, DEFAULT_STACK_WINDOW, MAX_STACK_WINDOW};
pub use meta::TrapKind;
pub use select::{Exports, Imports, Selection};
pub use thread::{local, suspend_current_thread, LocalGuard, Suspended};

pub(crate) use bind::prepare;
pub(crate) use exports::{exported, loaded};
pub(crate) use request::Request;

/// How many calls are trapped right now: the stubs in use for interceptors.
///
/// ```
/// let _n = staticdl::intercept::traps();
/// ```
pub fn traps() -> usize {
    site::count()
}

#[cfg(test)]
mod tests;
