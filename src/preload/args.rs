//! The kernel's argument arrays for constructor mode, found even when
//! `environ` no longer points at them.
//!
//! Owns [`prime`]: it makes the loader's process arguments
//! (`staticdl_loader::runtime::process_args`, computed once and passed to
//! every initialiser) the kernel's arrays. The loader finds them by walking
//! back from `environ`; in a static musl host's `.init_array` that works
//! unless an earlier initialiser changed the environment (`setenv` moves
//! `environ` to the heap), and then the loader would fall back to Rust's
//! `std::env::args()`, which is empty there (and for ever in a C or Go host).
//! So the arrays are found from the auxiliary vector instead: `AT_EXECFN`
//! points at the file name the kernel put at the top of the initial stack, and
//! the vector itself holds that pointer; below the vector lie `envp`'s
//! terminator, `envp`, `argv`'s terminator, `argv` and `argc`. `environ` is
//! pointed there while the loader looks, then put back. `/proc` is never read.
//!
//! Unsafe code is allowed in this module: it reads the initial stack and
//! swaps the C library's `environ` for a moment, before `main`.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_ulong};

extern "C" {
    static mut environ: *mut *mut c_char;
    fn getauxval(kind: c_ulong) -> c_ulong;
}

const AT_EXECFN: c_ulong = 31;
/// The highest auxiliary vector type the walk accepts (Linux defines < 64).
const AT_MAX: usize = 64;
/// How far below the file name the vector may lie (argument and environment
/// strings: `ARG_MAX` is 2 MiB by default).
const MAX_STRINGS: usize = 8 << 20;

/// Makes the loader's process arguments the kernel's arrays (see the module).
pub(super) fn prime() {
    let found = kernel_envp();
    // SAFETY: constructor mode runs before `main`, on the main thread, before
    // the host can have started threads; `environ` is put back at once.
    unsafe {
        let current = std::ptr::read_volatile(&raw const environ);
        match found {
            Some(envp) if envp != current as usize => {
                std::ptr::write_volatile(&raw mut environ, envp as *mut *mut c_char);
                let _ = staticdl_loader::runtime::process_args();
                std::ptr::write_volatile(&raw mut environ, current);
            }
            _ => {
                let _ = staticdl_loader::runtime::process_args();
            }
        }
    }
}

/// The kernel's `envp`, found from the auxiliary vector (see the module), or
/// `None` if the initial stack does not look as the kernel lays it out.
fn kernel_envp() -> Option<usize> {
    // SAFETY: `getauxval` of a plain type number.
    let execfn = unsafe { getauxval(AT_EXECFN) } as usize;
    let here = 0u8;
    let sp = &here as *const u8 as usize;
    // The initial stack runs from below this frame up past the file name; on
    // any other stack (not the main thread) there is nothing to find.
    if execfn == 0 || execfn <= sp || execfn - sp > MAX_STRINGS + (1 << 20) {
        return None;
    }
    let word = |at: usize| -> usize {
        // SAFETY: every address read lies in [sp, execfn]: this thread's
        // initial stack, mapped from the stack pointer up to its top.
        unsafe { (at as *const usize).read() }
    };
    let floor = sp + 64;
    // The vector's AT_EXECFN entry: (31, execfn).
    let mut at = execfn & !7;
    let lowest = execfn.saturating_sub(MAX_STRINGS).max(floor);
    let entry = loop {
        if at < lowest + 16 {
            return None;
        }
        at -= 8;
        if word(at) == AT_EXECFN as usize && word(at + 8) == execfn {
            break at;
        }
    };
    // Back to the vector's first entry (types 1..AT_MAX; never AT_NULL).
    let mut auxv = entry;
    while auxv >= floor + 16 && (1..AT_MAX).contains(&word(auxv - 16)) {
        auxv -= 16;
    }
    // envp's terminator, then envp's entries (pointers into the strings).
    let mut at = auxv.checked_sub(8)?;
    if word(at) != 0 {
        return None;
    }
    let is_string = |v: usize| v > auxv && v <= execfn;
    loop {
        at = at.checked_sub(8)?;
        if at < floor {
            return None;
        }
        let v = word(at);
        if v == 0 {
            break;
        }
        if !is_string(v) {
            return None;
        }
    }
    let envp = at + 8;
    // argv's entries back to argc.
    for k in 0..4096usize {
        let w = at.checked_sub(8 * (k + 1))?;
        if w < floor {
            return None;
        }
        let v = word(w);
        if v == k {
            return Some(envp);
        }
        if !is_string(v) {
            return None;
        }
    }
    None
}
