//! The C entry point through which plugins register interceptors: a plugin
//! preloaded into a host cannot link the host's Rust API, so every load through
//! the facade offers it `staticdl_intercept` and `staticdl_intercept_remove`
//! as host symbols (after every loaded object, as `OpenOptions::host_symbol`
//! does). Declared in `staticdl_intercept.h` next to this file.
//!
//! Owns the C view of a call ([`CCall`], `staticdl_call` in C), the two entry
//! points, and the table of registrations they made. A C hook gets a view
//! filled from the [`Call`]; what it may change (the argument registers through
//! their pointers, the target, the return registers, `errno`, its data slot)
//! is written back when it returns. Registrations are process-wide
//! ([`register`](super::register)): they apply to objects loaded afterwards.
//!
//! Unsafe code is allowed in this module: these are C entry points taking C
//! strings and calling the plugin's C hooks with its own pointer.
#![allow(unsafe_code)]

use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::{Arc, Mutex, OnceLock};

use staticdl_loader::SymbolSource;

use super::call::{Call, STACK_ARGS};
use super::global::{register, Registration};
use super::interceptor::{Flow, Interceptor};
use super::meta::TrapKind;
use super::select::{Exports, Imports, Selection};

/// `staticdl_call`: what a C hook sees of a call (see the header).
#[repr(C)]
pub struct CCall {
    /// `sizeof(staticdl_call)` as the host knows it.
    pub size: u32,
    /// 1: an import; 2: an export.
    pub kind: u32,
    /// The symbol.
    pub symbol: *const c_char,
    /// The version the importer asks for, or null.
    pub version: *const c_char,
    /// The importing object (imports) or the exporting one (exports).
    pub object: *const c_char,
    /// Where the call goes; a pre may change it (a redirect).
    pub target: usize,
    /// Where the call returns to.
    pub return_address: usize,
    /// `%rdi..%r9`, writable in a pre.
    pub int_args: *mut u64,
    /// `%xmm0..%xmm7` (two 64-bit halves each), writable in a pre.
    pub vec_args: *mut [u64; 2],
    /// The caller's stack arguments (`stack_words` readable words).
    pub stack_args: *mut u64,
    /// How many words of `stack_args` may be read.
    pub stack_words: u32,
    /// Intercepted calls of this thread running, this one included.
    pub depth: u32,
    /// `errno` (the caller's in a pre, the target's in a post); writable.
    pub errno_value: i32,
    /// 0 in a pre, 1 in a post.
    pub phase: u32,
    /// The call is ending by an exception passing through it.
    pub unwinding: u32,
    /// A pre returned instead of calling the target.
    pub returned: u32,
    /// `%rax, %rdx` on return; writable.
    pub ret: [u64; 2],
    /// `%xmm0, %xmm1` on return; writable.
    pub ret_vec: [[u64; 2]; 2],
    /// The hook's data slot, from its pre to its post.
    pub data: u64,
}

/// `int (*)(staticdl_call *, void *)`: 0 continue, 1 return.
pub type PreFn = unsafe extern "C" fn(call: *mut CCall, user: *mut c_void) -> c_int;
/// `void (*)(staticdl_call *, void *)`.
pub type PostFn = unsafe extern "C" fn(call: *mut CCall, user: *mut c_void);

const WHAT_IMPORTS: c_int = 1;
const WHAT_EXPORTS: c_int = 2;
const WHAT_HANDLERS: c_int = 3;
const WHAT_MASK: c_int = 0xf;
const FLAG_GOT: c_int = 0x10;
const FLAG_POINTERS: c_int = 0x20;

/// Runs a C hook over `call`, writing back what it may change.
fn with_view<R>(call: &mut Call<'_>, hook: impl FnOnce(*mut CCall) -> R) -> R {
    let meta = call.meta_ref();
    let mut view = CCall {
        size: std::mem::size_of::<CCall>() as u32,
        kind: match meta.kind {
            TrapKind::Import => 1,
            TrapKind::Export => 2,
        },
        symbol: meta.symbol_c.as_ptr(),
        version: meta
            .version_c
            .as_ref()
            .map_or(std::ptr::null(), |v| v.as_ptr()),
        object: meta.object_c.as_ptr(),
        target: call.target(),
        return_address: call.return_address(),
        int_args: std::ptr::null_mut(),
        vec_args: std::ptr::null_mut(),
        stack_args: std::ptr::null_mut(),
        stack_words: STACK_ARGS as u32,
        depth: call.depth(),
        errno_value: call.errno(),
        phase: u32::from(call.is_post()),
        unwinding: u32::from(call.unwinding()),
        returned: u32::from(call.returned()),
        ret: [call.ret(), call.ret2()],
        ret_vec: [call.ret_xmm(0), call.ret_xmm(1)],
        data: call.data(),
    };
    {
        let frame = call.frame_mut();
        view.int_args = frame.int.as_mut_ptr();
        view.vec_args = frame.xmm.as_mut_ptr();
        view.stack_args = (frame.entry_sp() + 8) as *mut u64;
    }
    let r = hook(&mut view);
    // SAFETY: the C entry point's contract: its hooks change the call as a
    // Rust hook's unsafe setters would, and vouch for it.
    unsafe {
        call.redirect(view.target);
        call.set_ret(view.ret[0]);
        call.set_ret2(view.ret[1]);
        call.set_ret_xmm(0, view.ret_vec[0]);
        call.set_ret_xmm(1, view.ret_vec[1]);
        call.set_errno(view.errno_value);
    }
    call.set_data(view.data);
    r
}

/// The interceptor that calls C hooks `pre` and `post` with `user`.
fn c_interceptor(pre: Option<PreFn>, post: Option<PostFn>, user: usize) -> Interceptor {
    let mut i = Interceptor::new();
    if let Some(pre) = pre {
        i = i.pre(move |call| {
            // SAFETY: the plugin registered `pre` for exactly this use, with
            // `user` as its argument.
            let r = with_view(call, |view| unsafe { pre(view, user as *mut c_void) });
            if r == 1 {
                Flow::Return
            } else {
                Flow::Continue
            }
        });
    }
    if let Some(post) = post {
        i = i.post(move |call| {
            // SAFETY: as for `pre`.
            with_view(call, |view| unsafe { post(view, user as *mut c_void) });
        });
    }
    i
}

fn registrations() -> &'static Mutex<HashMap<u64, Registration>> {
    static R: OnceLock<Mutex<HashMap<u64, Registration>>> = OnceLock::new();
    R.get_or_init(Mutex::default)
}

/// # Safety
/// `p` is null or a C string.
unsafe fn text<'a>(p: *const c_char) -> Option<&'a str> {
    // SAFETY: the caller's contract.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_str().ok())?
}

/// `uint64_t staticdl_intercept(int what, const char *symbols, const char
/// *objects, staticdl_pre_fn pre, staticdl_post_fn post, void *user)`.
///
/// # Safety
/// C strings or null; hooks that keep the interceptor contract.
unsafe extern "C" fn staticdl_intercept(
    what: c_int,
    symbols: *const c_char,
    objects: *const c_char,
    pre: Option<PreFn>,
    post: Option<PostFn>,
    user: *mut c_void,
) -> u64 {
    // SAFETY: the entry point's contract.
    let (symbols, objects) = unsafe { (text(symbols).unwrap_or("*"), text(objects)) };
    let selection: Selection = match what & WHAT_MASK {
        WHAT_IMPORTS => {
            let mut i = Imports::matching(symbols)
                .got(what & FLAG_GOT != 0)
                .pointers(what & FLAG_POINTERS != 0);
            if let Some(o) = objects {
                i = i.in_objects(o);
            }
            i.into()
        }
        WHAT_EXPORTS | WHAT_HANDLERS => {
            let mut e = if what & WHAT_MASK == WHAT_HANDLERS {
                Exports::handlers()
            } else {
                Exports::matching(symbols)
            };
            if let Some(o) = objects {
                e = e.in_objects(o);
            }
            e.into()
        }
        _ => {
            super::thread::with(|s| s.set_errno(22)); // EINVAL
            return 0;
        }
    };
    let interceptor = c_interceptor(pre, post, user as usize);
    // SAFETY: the plugin vouches for its selection, as the Rust API's callers do.
    let registration = unsafe { register(selection, interceptor) };
    let id = registration.id();
    registrations()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id, registration);
    id
}

/// `int staticdl_intercept_remove(uint64_t id)`: 0, or -1 (`ENOENT`) for an id
/// that is not registered.
extern "C" fn staticdl_intercept_remove(id: u64) -> c_int {
    let removed = registrations()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&id);
    match removed {
        Some(r) => {
            drop(r);
            0
        }
        None => {
            super::thread::with(|s| s.set_errno(2)); // ENOENT
            -1
        }
    }
}

/// The host symbols every load through the facade is offered.
pub(crate) fn source() -> Arc<dyn SymbolSource> {
    static SOURCE: OnceLock<Arc<dyn SymbolSource>> = OnceLock::new();
    SOURCE
        .get_or_init(|| {
            Arc::new(|name: &[u8], _version: Option<&[u8]>| match name {
                b"staticdl_intercept" => Some(staticdl_intercept as *const () as usize),
                b"staticdl_intercept_remove" => {
                    Some(staticdl_intercept_remove as *const () as usize)
                }
                _ => None,
            })
        })
        .clone()
}
