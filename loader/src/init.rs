//! Initialisation and finalisation functions.
//!
//! Owns reading `DT_INIT`, `DT_INIT_ARRAY`, `DT_FINI_ARRAY` and `DT_FINI` after
//! relocation (array entries are relocated pointers), checking that every one points
//! into its object's executable segments before anything runs, the order of calls
//! (glibc's: `DT_INIT` then `DT_INIT_ARRAY` forwards; `DT_FINI_ARRAY` backwards then
//! `DT_FINI`), and the calls themselves. Which module goes first is the namespace's
//! decision (dependencies before dependents).
//!
//! Unsafe code is allowed in this module: calling the object's init and fini functions,
//! after checking that each lies in the object's executable segments; running them is
//! the loader's purpose and the caller's consent.
#![allow(unsafe_code)]

use std::ffi::c_char;

use crate::error::{Error, Result};
use crate::module::Module;
use crate::ProcessArgs;

/// Read and check `m`'s init and fini functions, storing them in call order.
pub(crate) fn collect(m: &mut Module) -> Result<()> {
    let view = m.view();
    let check = |addr: u64, what: &str| -> Result<Option<usize>> {
        // 0 and -1 are historical "no function" markers in init/fini arrays.
        if addr == 0 || addr == u64::MAX {
            return Ok(None);
        }
        let a = m.mapping.addr(addr);
        if !m.is_code(a) {
            return Err(Error::malformed(
                &m.path,
                format!("{what} function does not lie in the object's code"),
                addr,
            ));
        }
        Ok(Some(a))
    };
    let mut init = Vec::new();
    if let Some(a) = m.dynamic.init {
        init.extend(check(a, "DT_INIT")?);
    }
    if let Some((at, n)) = m.dynamic.init_array {
        for i in 0..n {
            let entry = view
                .read::<u64>(at + i * 8)
                .ok_or_else(|| Error::malformed(&m.path, "DT_INIT_ARRAY entry unreadable", at))?;
            // Entries are relocated: they hold run-time addresses already.
            let vaddr = (entry as usize).wrapping_sub(m.mapping.bias()) as u64;
            if entry != 0 && entry != u64::MAX {
                init.extend(check(vaddr, "DT_INIT_ARRAY")?);
            }
        }
    }
    let mut fini = Vec::new();
    if let Some((at, n)) = m.dynamic.fini_array {
        for i in (0..n).rev() {
            let entry = view
                .read::<u64>(at + i * 8)
                .ok_or_else(|| Error::malformed(&m.path, "DT_FINI_ARRAY entry unreadable", at))?;
            let vaddr = (entry as usize).wrapping_sub(m.mapping.bias()) as u64;
            if entry != 0 && entry != u64::MAX {
                fini.extend(check(vaddr, "DT_FINI_ARRAY")?);
            }
        }
    }
    if let Some(a) = m.dynamic.fini {
        fini.extend(check(a, "DT_FINI")?);
    }
    m.init = init;
    m.fini = fini;
    Ok(())
}

/// Run `m`'s init functions with the process's arguments, as glibc does.
///
/// # Safety
/// `m` must be fully relocated and protected, and its dependencies initialised; the
/// functions run arbitrary code of the object.
pub(crate) unsafe fn run_init(m: &Module, args: &ProcessArgs) {
    for &f in &m.init {
        // SAFETY: `collect` checked that `f` lies in `m`'s executable segments; the
        // caller vouches for running the object's code. glibc calls init functions
        // as `void (*)(int, char **, char **)`.
        let f: extern "C" fn(i32, *const *const c_char, *const *const c_char) =
            unsafe { std::mem::transmute(f) };
        f(args.argc, args.argv as _, args.envp as _);
    }
}

/// Run `m`'s fini functions.
///
/// # Safety
/// `m` must still be mapped and its init functions must have run.
pub(crate) unsafe fn run_fini(m: &Module) {
    for &f in &m.fini {
        // SAFETY: `collect` checked that `f` lies in `m`'s executable segments, and
        // the caller guarantees the object is still mapped and was initialised.
        let f: extern "C" fn() = unsafe { std::mem::transmute(f) };
        f();
    }
}
