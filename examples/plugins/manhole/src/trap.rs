//! The interceptors, registered through staticdl's C entry point (the host
//! offers `staticdl_intercept` to every object it loads; see
//! `src/intercept/staticdl_intercept.h` in staticdl).
//!
//! Owns the C view of a call (`staticdl_call`, mirrored here) and the pre and
//! post hooks: the pre puts the time in the call's data slot, the post hands
//! the latency and the outcome to `stats.rs`.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::OnceLock;
use std::time::Instant;

/// `staticdl_call` (staticdl's `staticdl_intercept.h`).
#[repr(C)]
pub struct Call {
    size: u32,
    kind: u32,
    symbol: *const c_char,
    version: *const c_char,
    object: *const c_char,
    target: usize,
    return_address: usize,
    int_args: *mut u64,
    vec_args: *mut [u64; 2],
    stack_args: *mut u64,
    stack_words: u32,
    depth: u32,
    errno_value: i32,
    phase: u32,
    unwinding: u32,
    returned: u32,
    ret: [u64; 2],
    ret_vec: [[u64; 2]; 2],
    data: u64,
}

type PreFn = extern "C" fn(call: *mut Call, user: *mut c_void) -> c_int;
type PostFn = extern "C" fn(call: *mut Call, user: *mut c_void);

/// The HTTP handlers a plugin's descriptor declares.
const STATICDL_TRAP_HANDLERS: c_int = 3;
const STATICDL_CONTINUE: c_int = 0;
/// `HANDLER_OK` of the handler contract.
const HANDLER_OK: i32 = 0;

extern "C" {
    fn staticdl_intercept(
        what: c_int,
        symbols: *const c_char,
        objects: *const c_char,
        pre: Option<PreFn>,
        post: Option<PostFn>,
        user: *mut c_void,
    ) -> u64;
}

fn now_ns() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

extern "C" fn pre(call: *mut Call, _user: *mut c_void) -> c_int {
    // SAFETY: staticdl passes a valid view for the duration of the hook.
    let call = unsafe { &mut *call };
    call.data = now_ns();
    STATICDL_CONTINUE
}

fn text(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: staticdl's strings are NUL-terminated and live for the call.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

extern "C" fn post(call: *mut Call, _user: *mut c_void) {
    // SAFETY: as in `pre`.
    let call = unsafe { &*call };
    let elapsed = now_ns().saturating_sub(call.data);
    let failed = call.unwinding != 0 || call.ret[0] as i32 != HANDLER_OK;
    crate::stats::record(&text(call.object), &text(call.symbol), elapsed, failed);
}

/// Registers the hooks for the handlers of every plugin loaded from now on.
pub fn install() {
    // SAFETY: the entry point's contract: NULL patterns (everything), hooks
    // that keep the handler call as it is.
    let id = unsafe {
        staticdl_intercept(
            STATICDL_TRAP_HANDLERS,
            std::ptr::null(),
            std::ptr::null(),
            Some(pre),
            Some(post),
            std::ptr::null_mut(),
        )
    };
    if id == 0 {
        eprintln!("manhole: staticdl_intercept refused the handler traps");
    }
}
