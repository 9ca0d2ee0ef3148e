//! Unit tests of the thunk and the chain, on functions of this test binary
//! reached through sites made by hand (no object is loaded).
//!
//! Owns nothing but the tests; the loads and the C hosts are tested in
//! `tests/intercept.rs`.
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::meta::TrapKind;
use super::site::{self, Key, Link, Owner};
use super::{Flow, Interceptor};

/// Makes a site for `target` owned by a fake object at `owner`, with `i`.
fn trap(owner: usize, name: &str, target: usize, i: &Interceptor) -> usize {
    let key = Key {
        kind: TrapKind::Import,
        object: format!("/test/{owner:x}.so").into(),
        symbol: name.as_bytes().to_vec(),
        version: None,
        target,
    };
    let link = Link {
        id: owner as u64,
        interceptor: i.clone(),
    };
    site::link(key, Owner::Mapped(owner), &[link])
        .expect("a stub")
        .1
}

extern "C" fn mix8(a: i64, b: i64, c: i64, d: i64, e: i64, f: i64, g: i64, h: i64) -> i64 {
    a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h
}

type Mix8 = extern "C" fn(i64, i64, i64, i64, i64, i64, i64, i64) -> i64;

#[test]
fn pre_and_post_see_arguments_and_results() {
    let seen = Arc::new(AtomicU64::new(0));
    let (s1, s2) = (seen.clone(), seen.clone());
    let i = Interceptor::new()
        .pre(move |c| {
            s1.store(c.arg(7), Ordering::SeqCst);
            c.set_data(c.arg(0));
            Flow::Continue
        })
        .post(move |c| {
            s2.fetch_add(c.ret() * 1000 + c.data(), Ordering::SeqCst);
        });
    let stub = trap(0x10_000, "mix8", mix8 as *const () as usize, &i);
    // SAFETY: the stub goes to `mix8`.
    let f: Mix8 = unsafe { std::mem::transmute(stub) };
    assert_eq!(f(1, 2, 3, 4, 5, 6, 7, 8), mix8(1, 2, 3, 4, 5, 6, 7, 8));
    assert_eq!(seen.load(Ordering::SeqCst), 8 + 204 * 1000 + 1);
    site::release_owner(0x10_000);
}

#[test]
fn a_pre_can_mock_the_result() {
    let i = Interceptor::new().pre(|c| {
        // SAFETY: an i64 result.
        unsafe { c.set_ret(42) };
        Flow::Return
    });
    let stub = trap(0x20_000, "mix8", mix8 as *const () as usize, &i);
    // SAFETY: the stub goes to `mix8`.
    let f: Mix8 = unsafe { std::mem::transmute(stub) };
    assert_eq!(f(1, 2, 3, 4, 5, 6, 7, 8), 42);
    site::release_owner(0x20_000);
}

extern "C" fn halve(x: f64, y: f64) -> f64 {
    (x + y) / 2.0
}

#[test]
fn floating_point_arguments_and_results_pass() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (s1, s2) = (seen.clone(), seen.clone());
    let i = Interceptor::new()
        .pre(move |c| {
            s1.lock().unwrap().push(c.float_arg(1));
            Flow::Continue
        })
        .post(move |c| s2.lock().unwrap().push(c.ret_f64()));
    let stub = trap(0x30_000, "halve", halve as *const () as usize, &i);
    // SAFETY: the stub goes to `halve`.
    let f: extern "C" fn(f64, f64) -> f64 = unsafe { std::mem::transmute(stub) };
    assert_eq!(f(1.0, 3.0), 2.0);
    assert_eq!(*seen.lock().unwrap(), [3.0, 2.0]);
    site::release_owner(0x30_000);
}

extern "C-unwind" fn boom(x: i64) -> i64 {
    if x > 0 {
        std::panic::panic_any(x);
    }
    x
}

#[test]
fn a_panic_unwinds_through_the_thunk_and_posts_see_it() {
    let unwinding = Arc::new(AtomicU64::new(0));
    let u = unwinding.clone();
    let i = Interceptor::new().pre(|_| Flow::Continue).post(move |c| {
        u.fetch_add(if c.unwinding() { 1 } else { 100 }, Ordering::SeqCst);
    });
    let stub = trap(0x40_000, "boom", boom as *const () as usize, &i);
    // SAFETY: the stub goes to `boom`.
    let f: extern "C-unwind" fn(i64) -> i64 = unsafe { std::mem::transmute(stub) };
    assert_eq!(f(0), 0);
    let caught = std::panic::catch_unwind(|| f(7));
    assert_eq!(*caught.unwrap_err().downcast::<i64>().unwrap(), 7);
    assert_eq!(unwinding.load(Ordering::SeqCst), 101);
    // The thread's state is whole again: another call runs its post.
    assert_eq!(f(0), 0);
    assert_eq!(unwinding.load(Ordering::SeqCst), 201);
    site::release_owner(0x40_000);
}

extern "C" {
    fn __errno_location() -> *mut i32;
}

extern "C" fn fail_with(e: i32) -> i32 {
    // SAFETY: this thread's errno.
    unsafe { *__errno_location() = e };
    -1
}

#[test]
fn errno_reaches_the_caller_as_the_target_left_it() {
    let i = Interceptor::new()
        .pre(|_| {
            // SAFETY: this thread's errno, clobbered on purpose.
            unsafe { *__errno_location() = 1 };
            Flow::Continue
        })
        .post(|_| {
            // SAFETY: as above.
            unsafe { *__errno_location() = 2 };
        });
    let stub = trap(0x50_000, "fail_with", fail_with as *const () as usize, &i);
    // SAFETY: the stub goes to `fail_with`.
    let f: extern "C" fn(i32) -> i32 = unsafe { std::mem::transmute(stub) };
    assert_eq!(f(9), -1);
    // SAFETY: this thread's errno.
    assert_eq!(unsafe { *__errno_location() }, 9);
    site::release_owner(0x50_000);
}

static REENTER: AtomicU64 = AtomicU64::new(0);
static INNER: AtomicU64 = AtomicU64::new(0);

#[test]
fn a_hook_calling_what_it_hooks_does_not_recurse() {
    let i = Interceptor::new().pre(|_| {
        REENTER.fetch_add(1, Ordering::SeqCst);
        // SAFETY: the very stub being run, which goes to `halve`.
        let again: extern "C" fn(f64, f64) -> f64 =
            unsafe { std::mem::transmute(STUB.load(Ordering::SeqCst) as usize) };
        INNER.store(again(2.0, 4.0).to_bits(), Ordering::SeqCst);
        Flow::Continue
    });
    static STUB: AtomicU64 = AtomicU64::new(0);
    let stub = trap(0x60_000, "halve", halve as *const () as usize, &i);
    STUB.store(stub as u64, Ordering::SeqCst);
    // SAFETY: the stub goes to `halve`.
    let f: extern "C" fn(f64, f64) -> f64 = unsafe { std::mem::transmute(stub) };
    assert_eq!(f(1.0, 3.0), 2.0);
    assert_eq!(REENTER.load(Ordering::SeqCst), 1);
    assert_eq!(f64::from_bits(INNER.load(Ordering::SeqCst)), 3.0);
    site::release_owner(0x60_000);
}

extern "C" fn triple(x: i64) -> i64 {
    3 * x
}

extern "C" fn negate(x: i64) -> i64 {
    -x
}

#[test]
fn a_pre_can_redirect_the_call_and_the_post_sees_where_it_went() {
    let went = Arc::new(AtomicU64::new(0));
    let w = went.clone();
    let i = Interceptor::new()
        .pre(|c| {
            // SAFETY: `negate` has `triple`'s signature.
            unsafe { c.redirect(negate as *const () as usize) };
            Flow::Continue
        })
        .post(move |c| w.store(c.target() as u64, Ordering::SeqCst));
    let stub = trap(0x70_000, "triple", triple as *const () as usize, &i);
    // SAFETY: the stub goes to `triple` (redirected to `negate`).
    let f: extern "C" fn(i64) -> i64 = unsafe { std::mem::transmute(stub) };
    assert_eq!(f(7), -7);
    assert_eq!(
        went.load(Ordering::SeqCst),
        negate as *const () as usize as u64
    );
    site::release_owner(0x70_000);
}

#[allow(clippy::too_many_arguments)]
extern "C" fn weigh30(
    a0: i64,
    a1: i64,
    a2: i64,
    a3: i64,
    a4: i64,
    a5: i64,
    a6: i64,
    a7: i64,
    a8: i64,
    a9: i64,
    a10: i64,
    a11: i64,
    a12: i64,
    a13: i64,
    a14: i64,
    a15: i64,
    a16: i64,
    a17: i64,
    a18: i64,
    a19: i64,
    a20: i64,
    a21: i64,
    a22: i64,
    a23: i64,
    a24: i64,
    a25: i64,
    a26: i64,
    a27: i64,
    a28: i64,
    a29: i64,
) -> i64 {
    let a = [
        a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19,
        a20, a21, a22, a23, a24, a25, a26, a27, a28, a29,
    ];
    a.iter().enumerate().map(|(i, v)| (i as i64 + 1) * v).sum()
}

type Weigh30 = extern "C" fn(
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
) -> i64;

#[test]
fn a_wider_stack_window_passes_every_stack_argument_to_a_post_call() {
    let posts = Arc::new(AtomicU64::new(0));
    let p = posts.clone();
    // 24 words on the stack: more than the default window of 16.
    let i = Interceptor::new()
        .post(move |c| {
            p.store(c.ret(), Ordering::SeqCst);
        })
        .stack_window(24);
    let stub = trap(0xa0_000, "weigh30", weigh30 as *const () as usize, &i);
    // SAFETY: the stub goes to `weigh30`.
    let f: Weigh30 = unsafe { std::mem::transmute(stub) };
    let r = f(
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
        26, 27, 28, 29, 30,
    );
    let expected: i64 = (1..=30).map(|i| i * i).sum();
    assert_eq!(r, expected);
    assert_eq!(posts.load(Ordering::SeqCst), expected as u64);
    site::release_owner(0xa0_000);
}
