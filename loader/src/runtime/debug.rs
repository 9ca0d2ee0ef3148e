//! The debugger interface: an `r_debug` list of loaded objects.
//!
//! Owns the SVR4 `r_debug` structure and its `link_map` chain, kept in step with
//! the object list, and the function debuggers break on (`r_brk`), called before
//! and after every change with `r_state` set as glibc's loader sets it. The first
//! entry is the executable itself, as debuggers expect.
//!
//! In a static musl executable there is no dynamic loader to publish `r_debug`
//! through `DT_DEBUG`, so the structure is exported there under the conventional
//! name `_r_debug`, and the event function as `_dl_debug_state`, which gdb looks
//! up in a static executable; in any other host the names would clash with the
//! real loader's, so they stay private there.
//!
//! Unsafe code is allowed in this module: the `r_debug` structure and its `link_map`
//! chain are read by debuggers through raw pointers, and publishing it writes the
//! executable's `DT_DEBUG` slot.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_void, CStr};
use std::sync::Arc;
use std::sync::Mutex;

/// `struct link_map` (the public part debuggers read).
#[repr(C)]
pub struct LinkMap {
    l_addr: usize,
    l_name: *const c_char,
    l_ld: *const c_void,
    l_next: *mut LinkMap,
    l_prev: *mut LinkMap,
}

/// `struct r_debug`.
#[repr(C)]
pub struct RDebug {
    r_version: i32,
    r_map: *mut LinkMap,
    r_brk: usize,
    r_state: i32,
    r_ldbase: usize,
}

const RT_CONSISTENT: i32 = 0;
const RT_ADD: i32 = 1;
const RT_DELETE: i32 = 2;

#[cfg(all(target_env = "musl", target_feature = "crt-static"))]
#[no_mangle]
#[used]
static mut _r_debug: RDebug = RDebug {
    r_version: 0,
    r_map: std::ptr::null_mut(),
    r_brk: 0,
    r_state: RT_CONSISTENT,
    r_ldbase: 0,
};

#[cfg(not(all(target_env = "musl", target_feature = "crt-static")))]
static mut R_DEBUG: RDebug = RDebug {
    r_version: 0,
    r_map: std::ptr::null_mut(),
    r_brk: 0,
    r_state: RT_CONSISTENT,
    r_ldbase: 0,
};

/// The address of `r_debug`, for objects that import `_r_debug`.
pub(crate) fn r_debug_address() -> usize {
    r_debug() as usize
}

/// The address of the debugger's event function, for objects that import
/// `_dl_debug_state`.
pub(crate) fn state_address() -> usize {
    staticdl_debug_state as *const () as usize
}

fn r_debug() -> *mut RDebug {
    #[cfg(all(target_env = "musl", target_feature = "crt-static"))]
    {
        &raw mut _r_debug
    }
    #[cfg(not(all(target_env = "musl", target_feature = "crt-static")))]
    {
        &raw mut R_DEBUG
    }
}

/// Debuggers put a breakpoint here (`r_brk`) to hear about changes.
///
/// In a static musl executable no other loader defines the conventional name,
/// so it is exported as `_dl_debug_state`, the name gdb looks for: with it, gdb
/// loads a plugin's symbols as soon as it is mapped and a pending breakpoint in
/// a plugin fires. An executable that is stripped keeps it (and `_r_debug`) when
/// linked with `-Wl,--export-dynamic-symbol=_dl_debug_state` and
/// `-Wl,--export-dynamic-symbol=_r_debug`. In any other host the name is the
/// real loader's, so this one stays private.
///
/// ```
/// staticdl_loader::runtime::staticdl_debug_state(); // does nothing by itself
/// ```
#[cfg_attr(
    all(target_env = "musl", target_feature = "crt-static"),
    export_name = "_dl_debug_state"
)]
#[inline(never)]
pub extern "C" fn staticdl_debug_state() {
    std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
}

/// The chain's owned nodes and names, in list order; index 0 is the executable.
struct Chain {
    nodes: Vec<(Box<LinkMap>, Arc<CStr>, usize)>,
}

// SAFETY: the raw pointers in the nodes point into the chain itself, only touched
// with `CHAIN` locked.
unsafe impl Send for Chain {}

static CHAIN: Mutex<Chain> = Mutex::new(Chain { nodes: Vec::new() });

/// Publish `r_debug` through the executable's `DT_DEBUG` slot, as a dynamic loader
/// would, when the slot is empty (a static executable: no loader filled it).
#[cfg(all(target_env = "musl", target_feature = "crt-static"))]
fn publish(ld: usize) {
    if ld == 0 {
        return;
    }
    let mut at = ld;
    // SAFETY: `ld` is the executable's mapped dynamic section, terminated by
    // DT_NULL (at most 4096 entries are read); the slot is written only if it is
    // DT_DEBUG and still zero, with its page made writable for the write if it lies
    // in RELRO.
    unsafe {
        for _ in 0..4096 {
            let tag = (at as *const i64).read();
            if tag == 0 {
                return;
            }
            if tag == 21 {
                let slot = (at + 8) as *mut usize;
                if slot.read() == 0 {
                    super::exe::with_writable(slot as usize, 8, || slot.write(r_debug() as usize));
                }
                return;
            }
            at += 16;
        }
    }
}

#[cfg(not(all(target_env = "musl", target_feature = "crt-static")))]
fn publish(_ld: usize) {}

fn relink(chain: &mut Chain) {
    let n = chain.nodes.len();
    for i in 0..n {
        let prev: *mut LinkMap = if i == 0 {
            std::ptr::null_mut()
        } else {
            &mut *chain.nodes[i - 1].0
        };
        chain.nodes[i].0.l_prev = prev;
        chain.nodes[i].0.l_next = std::ptr::null_mut();
        if i > 0 {
            let cur: *mut LinkMap = &mut *chain.nodes[i].0;
            chain.nodes[i - 1].0.l_next = cur;
        }
    }
    let head: *mut LinkMap = chain
        .nodes
        .first_mut()
        .map_or(std::ptr::null_mut(), |n| &mut *n.0);
    // SAFETY: the r_debug structure is only written with `CHAIN` locked.
    unsafe { (*r_debug()).r_map = head };
}

fn set_state(state: i32) {
    // SAFETY: written with `CHAIN` locked (callers hold it).
    unsafe {
        let r = r_debug();
        (*r).r_state = state;
        if (*r).r_version == 0 {
            (*r).r_version = 1;
            (*r).r_brk = staticdl_debug_state as *const () as usize;
        }
    }
    staticdl_debug_state();
}

/// A chain node (links are set by `relink`); the name's shared buffer does not
/// move while the node holds it, so `l_name` stays valid.
fn node(bias: usize, name: Arc<CStr>, ld: usize, key: usize) -> (Box<LinkMap>, Arc<CStr>, usize) {
    let map = Box::new(LinkMap {
        l_addr: bias,
        l_name: name.as_ptr(),
        l_ld: ld as *const c_void,
        l_next: std::ptr::null_mut(),
        l_prev: std::ptr::null_mut(),
    });
    (map, name, key)
}

/// Add objects: `(bias, path, dynamic address, key)`; `key` identifies the group.
pub(crate) fn add(objects: impl Iterator<Item = (usize, Arc<CStr>, usize)>, key: usize) {
    let mut chain = CHAIN.lock().unwrap_or_else(|e| e.into_inner());
    set_state(RT_ADD);
    if chain.nodes.is_empty() {
        let exe = super::exe::executable();
        publish(exe.dynamic);
        chain
            .nodes
            .push(node(exe.bias, Arc::from(c""), exe.dynamic, 0));
    }
    for (bias, name, ld) in objects {
        chain.nodes.push(node(bias, name, ld, key));
    }
    relink(&mut chain);
    set_state(RT_CONSISTENT);
}

/// Remove the objects added under `key`.
pub(crate) fn remove(key: usize) {
    let mut chain = CHAIN.lock().unwrap_or_else(|e| e.into_inner());
    set_state(RT_DELETE);
    chain.nodes.retain(|n| n.2 != key || key == 0);
    relink(&mut chain);
    set_state(RT_CONSISTENT);
}
