//! The chain: what runs when the thunk enters, when the target returns, and
//! when it unwinds.
//!
//! Owns [`enter`], [`leave`] and [`unwound`], the three Rust functions the
//! thunk calls with its [`Frame`]. `enter` decides, in this order: a thread
//! whose hook is running (the per-thread guard) or that is suspended passes
//! straight through; otherwise the site's chain and then the thread's own
//! interceptors are collected into the frame, and their pres run in order
//! until one returns. If none of the interceptors reached has a post, the call
//! passes through (nothing waits for it, and the caller's stack is used as it
//! is); if a pre returned, the posts run at once and the thunk returns; else
//! the thunk calls the target and `leave` runs the posts in reverse order.
//! `errno` is read before any hook runs and written back after the last, so
//! the caller (or the target) finds what it would have without the hooks, or
//! what a hook set. A panic in a hook is caught and counts as continuing.
//!
//! It does not know the thunk's instructions (`thunk.rs`) or which bindings are
//! trapped (`site.rs`).
//!
//! Unsafe code is allowed in this module: the frame arrives as a raw pointer
//! from the thunk, and hooks are reached through the erased pointers it holds.
#![allow(unsafe_code)]

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::call::Call;
use super::frame::{
    Frame, Spill, CALL, FLAG_POST, FLAG_RETURNED, FLAG_UNWINDING, INLINE_HOOKS, PASS, RETURN,
};
use super::interceptor::{Flow, Hooks};
use super::site::{self, SiteState};
use super::thread::{self, State};

/// Called by the thunk on entry; answers `PASS`, `RETURN` or `CALL`.
///
/// # Safety
/// `frame` is the thunk's frame, with the entry registers and the stub index
/// saved.
#[export_name = "staticdl_intercept_enter"]
pub(crate) unsafe extern "C" fn enter(frame: *mut Frame) -> u32 {
    // SAFETY: the thunk's own frame, exclusively this call's.
    let f = unsafe { &mut *frame };
    let Some(slot) = site::slot(f.index as usize) else {
        return PASS;
    };
    f.target = slot.target.load(std::sync::atomic::Ordering::Acquire) as u64;
    let state = slot.state.load(std::sync::atomic::Ordering::Acquire);
    if state.is_null() || f.target == 0 {
        return PASS;
    }
    // SAFETY: a published state, alive until its site is released (only
    // when the owning object is unloaded, when nothing calls through it).
    let site = unsafe { &*state };
    thread::with(|ts| {
        if ts.busy.get() || ts.suspended.get() != 0 {
            return PASS;
        }
        let locals = ts.locals.get() != 0;
        if !locals {
            match site.chain.len() {
                0 => return PASS,
                1 => return one(f, site, &site.chain[0].hooks, ts),
                _ => {}
            }
        }
        chain(f, site, ts, locals)
    })
}

/// The common case: one interceptor on the site, none of the thread's own.
#[inline(always)]
fn one(f: &mut Frame, site: &SiteState, h: &Hooks, ts: &State) -> u32 {
    start(f, site, ts);
    f.call.hooks[0] = h as *const Hooks as *const ();
    f.call.data[0] = 0;
    f.call.count = 1;
    f.call.ran = 1;
    ts.busy.set(true);
    let mut returned = false;
    if let Some(pre) = &h.pre {
        let mut call = Call::new(f, 0);
        returned = matches!(
            catch_unwind(AssertUnwindSafe(|| pre(&mut call))),
            Ok(Flow::Return)
        );
    }
    let answer = if returned {
        f.call.flags |= FLAG_RETURNED | FLAG_POST;
        run_posts(f);
        RETURN
    } else if h.post.is_some() && !site.pre_only {
        f.stack_words = h.stack_words.next_multiple_of(2) as u64;
        ts.depth.set(ts.depth.get() + 1);
        CALL
    } else {
        PASS
    };
    ts.set_errno(f.call.errno);
    ts.busy.set(false);
    if answer != CALL {
        ts.collect();
    }
    answer
}

/// Any other chain: several interceptors, or the thread's own.
#[inline(never)]
fn chain(f: &mut Frame, site: &SiteState, ts: &State, locals: bool) -> u32 {
    {
        start(f, site, ts);
        if locals || site.chain.len() > INLINE_HOOKS {
            collect(f, site);
        } else {
            for (k, i) in site.chain.iter().enumerate() {
                f.call.hooks[k] = std::sync::Arc::as_ptr(&i.hooks) as *const ();
                f.call.data[k] = 0;
            }
            f.call.count = site.chain.len() as u32;
        }
        if f.call.count == 0 {
            return PASS;
        }
        ts.busy.set(true);
        let (post, words) = run_pres(f, site.pre_only);
        let answer = if f.call.flags & FLAG_RETURNED != 0 {
            f.call.flags |= FLAG_POST;
            run_posts(f);
            RETURN
        } else if post {
            f.stack_words = words.next_multiple_of(2) as u64;
            ts.depth.set(ts.depth.get() + 1);
            CALL
        } else {
            PASS
        };
        ts.set_errno(f.call.errno);
        ts.busy.set(false);
        if answer != CALL {
            free_spill(f);
            ts.collect();
        }
        answer
    }
}

/// Starts the frame's call state: the site, `errno`, the depth, no hooks yet.
#[inline(always)]
fn start(f: &mut Frame, site: &SiteState, ts: &State) {
    f.call.thread = ts as *const State as *const ();
    f.call.site = site as *const SiteState as *const ();
    f.call.meta = std::sync::Arc::as_ptr(&site.meta);
    f.call.errno = ts.errno();
    f.call.flags = 0;
    f.call.depth = ts.depth.get() + 1;
    f.call.ran = 0;
    f.call.count = 0;
    f.call.more = std::ptr::null_mut();
    f.ret = [0; 2];
    f.ret_xmm = [[0; 2]; 2];
}

/// Puts the site's chain and the thread's own interceptors into the frame
/// (the general case: per-thread interceptors, or a long chain).
#[cold]
fn collect(f: &mut Frame, site: &SiteState) {
    let mut push = |h: *const ()| {
        let k = f.call.count as usize;
        if k < INLINE_HOOKS {
            f.call.hooks[k] = h;
            f.call.data[k] = 0;
        } else {
            if f.call.more.is_null() {
                f.call.more = Box::into_raw(Box::new(Spill {
                    hooks: Vec::new(),
                    data: Vec::new(),
                }));
            }
            // SAFETY: made just above, owned by this frame.
            let more = unsafe { &mut *f.call.more };
            more.hooks.push(h);
            more.data.push(0);
        }
        f.call.count += 1;
    };
    for i in site.chain.iter() {
        push(std::sync::Arc::as_ptr(&i.hooks) as *const ());
    }
    thread::local_hooks(&mut push);
}

/// The hooks at position `k`.
fn hooks<'h>(f: &Frame, k: usize) -> &'h Hooks {
    // SAFETY: the chain's hooks are owned by the site's state (alive while the
    // site is) or by this thread's per-thread interceptors (kept until the
    // thread has left every trapped call); `dispatch::collect` put them here.
    unsafe { &*(f.hook(k) as *const Hooks) }
}

/// Runs the pres in order; returns whether a post waits and the stack window
/// the call needs.
#[inline(always)]
fn run_pres(f: &mut Frame, pre_only: bool) -> (bool, usize) {
    let mut post = false;
    let mut words = 0;
    for k in 0..f.call.count as usize {
        let h = hooks(f, k);
        f.call.ran = k as u32 + 1;
        if h.post.is_some() && !pre_only {
            post = true;
            words = words.max(h.stack_words);
        }
        if let Some(pre) = &h.pre {
            let mut call = Call::new(f, k);
            let flow = catch_unwind(AssertUnwindSafe(|| pre(&mut call)));
            if let Ok(Flow::Return) = flow {
                f.call.flags |= FLAG_RETURNED;
                break;
            }
        }
    }
    (post, words)
}

/// Runs the posts of the hooks whose pre ran, in reverse order.
#[inline(always)]
fn run_posts(f: &mut Frame) {
    if f.call.site.is_null() {
        return;
    }
    // SAFETY: set by `collect` from a live site state.
    let pre_only = unsafe { (*(f.call.site as *const SiteState)).pre_only };
    if pre_only {
        return;
    }
    for k in (0..f.call.ran as usize).rev() {
        let h = hooks(f, k);
        if let Some(post) = &h.post {
            let mut call = Call::new(f, k);
            let _ = catch_unwind(AssertUnwindSafe(|| post(&mut call)));
        }
    }
}

#[inline(always)]
fn free_spill(f: &mut Frame) {
    if !f.call.more.is_null() {
        // SAFETY: made by `collect` for this frame, freed once.
        drop(unsafe { Box::from_raw(f.call.more) });
        f.call.more = std::ptr::null_mut();
    }
}

/// Called by the thunk after the target returned.
///
/// # Safety
/// `frame` is the thunk's frame of a call `enter` answered `CALL`.
#[export_name = "staticdl_intercept_leave"]
pub(crate) unsafe extern "C" fn leave(frame: *mut Frame) {
    // SAFETY: the thunk's own frame.
    let f = unsafe { &mut *frame };
    finish(f, 0);
}

/// Called by the thunk's landing pad when the target unwinds.
///
/// # Safety
/// As for [`leave`].
#[export_name = "staticdl_intercept_unwound"]
pub(crate) unsafe extern "C" fn unwound(frame: *mut Frame) {
    // SAFETY: the thunk's own frame.
    let f = unsafe { &mut *frame };
    f.ret = [0; 2];
    f.ret_xmm = [[0; 2]; 2];
    finish(f, FLAG_UNWINDING);
}

#[inline(always)]
fn finish(f: &mut Frame, flags: u32) {
    // SAFETY: `enter` put this thread's state here (the thunk calls `leave`
    // and `unwound` on the thread that called `enter`); it lives as long as
    // the thread.
    let ts = unsafe { &*(f.call.thread as *const State) };
    f.call.errno = ts.errno();
    f.call.flags |= FLAG_POST | flags;
    ts.depth.set(ts.depth.get().saturating_sub(1));
    let was_busy = ts.busy.replace(true);
    if f.call.count == 1 {
        // SAFETY: as in `hooks`.
        let h = unsafe { &*(f.call.hooks[0] as *const Hooks) };
        if let Some(post) = &h.post {
            let mut call = Call::new(f, 0);
            let _ = catch_unwind(AssertUnwindSafe(|| post(&mut call)));
        }
    } else {
        run_posts(f);
        free_spill(f);
    }
    ts.busy.set(was_busy);
    ts.set_errno(f.call.errno);
    ts.collect();
}
