//! The process's `argc`, `argv` and `envp`, as initialisers receive them.
//!
//! Owns [`process_args`]: the arrays glibc passes to every `DT_INIT` and
//! `DT_INIT_ARRAY` function. They are the kernel's own arrays when they can be
//! found (walking back from `environ`, which the C library points at the
//! kernel's `envp`: the kernel lays out `argc, argv..., NULL, envp..., NULL,
//! auxv...`), because some runtimes (Go's) read the auxiliary vector right after
//! `envp`; that also gives C, C++ and Go hosts, whose Rust `std::env::args()` is
//! empty, the real arguments. Otherwise they are built once from
//! [`std::env::args_os`] and [`std::env::vars_os`] into leaked C arrays, with a
//! copy of the auxiliary vector after `envp`. It does not decide when
//! initialisers run (the load does).
//!
//! Unsafe code is allowed in this module: it reads the kernel's argument arrays
//! on the initial stack, after checking they are there.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_ulong, CString, OsString};
use std::os::unix::ffi::OsStringExt;
use std::sync::OnceLock;

use crate::ProcessArgs;

extern "C" {
    /// The C library's environment array (the kernel's `envp` at start-up).
    static environ: *const *const c_char;
    /// `getauxval(3)`, in musl and glibc.
    fn getauxval(kind: c_ulong) -> c_ulong;
}

const AT_NULL: usize = 0;
const AT_PAGESZ: usize = 6;
const AT_EXECFN: c_ulong = 31;
/// Auxiliary vector entries copied after a rebuilt `envp`.
const AUXV_KINDS: &[c_ulong] = &[
    3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 23, 25, 26, 31, 33, 51,
];

/// The process's `argc`, `argv` and `envp`, as glibc passes them to initialisers:
/// the kernel's own arrays when `environ` still points at them, otherwise arrays
/// built once from [`std::env::args_os`] and [`std::env::vars_os`] (followed by a
/// copy of the auxiliary vector), never freed.
///
/// ```
/// let args = staticdl_loader::runtime::process_args();
/// assert_eq!(args.argc as usize, std::env::args_os().count());
/// assert_ne!(args.argv, 0);
/// ```
pub fn process_args() -> ProcessArgs {
    static ARGS: OnceLock<ProcessArgs> = OnceLock::new();
    *ARGS.get_or_init(|| kernel_arrays().unwrap_or_else(rebuilt))
}

/// The kernel's arrays, if `environ` still points at the kernel's `envp`: it lies
/// on the initial stack just below the executable's file name (`AT_EXECFN`,
/// which the kernel puts at the top), an auxiliary vector with the page size
/// follows its terminator, and walking back from it finds `argv`'s terminator
/// and then a word equal to the number of words walked (`argc`).
fn kernel_arrays() -> Option<ProcessArgs> {
    // SAFETY: reading the C library's `environ` pointer and `getauxval`.
    let (envp, top) = unsafe {
        (
            std::ptr::read_volatile(&raw const environ),
            getauxval(AT_EXECFN) as usize,
        )
    };
    let envp = envp as usize;
    // The initial stack holds argv, envp, auxv and their strings: a few MiB at
    // most, all below the file name.
    if envp == 0 || top == 0 || envp >= top || top - envp > 16 << 20 || envp % 8 != 0 {
        return None;
    }
    let word = |at: usize| -> usize {
        // SAFETY: every address read lies in [sp, top): the kernel's initial
        // stack, mapped for the life of the process (checked above that `envp`
        // is there; argc is at the stack pointer below it).
        unsafe { (at as *const usize).read() }
    };
    // Forward: envp's terminator, then auxv pairs up to AT_NULL with AT_PAGESZ.
    let mut at = envp;
    while word(at) != 0 {
        at += 8;
        if at >= top {
            return None;
        }
    }
    let mut aux = at + 8;
    let mut page_size = false;
    for _ in 0..64 {
        if aux + 16 > top {
            return None;
        }
        let (kind, value) = (word(aux), word(aux + 8));
        if kind == AT_PAGESZ {
            page_size = value.is_power_of_two();
        }
        aux += 16;
        if kind == AT_NULL {
            break;
        }
    }
    if !page_size {
        return None;
    }
    // Backward: argv's terminator, then argc counted out.
    if word(envp - 8) != 0 {
        return None;
    }
    for k in 0..4096usize {
        let at = envp - 16 - 8 * k;
        let v = word(at);
        if v == k {
            return Some(ProcessArgs {
                argc: i32::try_from(k).ok()?,
                argv: at + 8,
                envp,
            });
        }
        // An argv entry: a pointer to a string above the arrays.
        if v <= envp || v >= top {
            return None;
        }
    }
    None
}

/// Arrays built from Rust's view of the arguments and environment, with a copy
/// of the auxiliary vector after `envp`'s terminator.
fn rebuilt() -> ProcessArgs {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let envp: Vec<OsString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k;
            kv.push("=");
            kv.push(v);
            kv
        })
        .collect();
    let mut auxv: Vec<usize> = Vec::new();
    for &kind in AUXV_KINDS {
        // SAFETY: `getauxval` of a plain type number.
        let v = unsafe { getauxval(kind) };
        if v != 0 {
            auxv.extend([kind as usize, v as usize]);
        }
    }
    auxv.extend([AT_NULL, 0]);
    ProcessArgs {
        argc: i32::try_from(argv.len()).unwrap_or(i32::MAX),
        argv: leak_c_array(argv, &[]),
        envp: leak_c_array(envp, &auxv),
    }
}

/// A null-terminated array of C strings followed by the words of `after`,
/// leaked: initialisers may keep the pointers for as long as the process runs.
fn leak_c_array(items: Vec<OsString>, after: &[usize]) -> usize {
    let mut ptrs: Vec<*const c_char> = items
        .into_iter()
        .map(|s| {
            let mut bytes = s.into_vec();
            // An interior NUL cannot be passed through C; cut the string there.
            if let Some(nul) = bytes.iter().position(|&b| b == 0) {
                bytes.truncate(nul);
            }
            CString::new(bytes)
                .map(|c| c.into_raw() as *const c_char)
                .unwrap_or(std::ptr::null())
        })
        .filter(|p| !p.is_null())
        .collect();
    ptrs.push(std::ptr::null());
    ptrs.extend(after.iter().map(|&w| w as *const c_char));
    Box::leak(ptrs.into_boxed_slice()).as_ptr() as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn argv_and_envp_are_null_terminated_c_arrays() {
        let args = process_args();
        let argv = args.argv as *const *const c_char;
        let mut n = 0;
        // SAFETY: `process_args` built a null-terminated array of C strings.
        unsafe {
            while !(*argv.add(n)).is_null() {
                n += 1;
            }
            let first = CStr::from_ptr(*argv).to_string_lossy().into_owned();
            assert_eq!(first, std::env::args_os().next().unwrap().to_string_lossy());
        }
        assert_eq!(n, args.argc as usize);
        let envp = args.envp as *const *const c_char;
        let mut saw_path = false;
        let mut i = 0;
        // SAFETY: as above.
        unsafe {
            while !(*envp.add(i)).is_null() {
                saw_path |= CStr::from_ptr(*envp.add(i))
                    .to_bytes()
                    .starts_with(b"PATH=");
                i += 1;
            }
        }
        assert_eq!(saw_path, std::env::var_os("PATH").is_some());
        // Built once.
        assert_eq!(process_args().argv, args.argv);
    }

    #[test]
    fn an_auxiliary_vector_follows_envp() {
        let args = process_args();
        let envp = args.envp as *const usize;
        let mut i = 0;
        // SAFETY: a null-terminated array, followed by auxv pairs (the kernel's,
        // or the copy `rebuilt` appends), ending with AT_NULL.
        unsafe {
            while *envp.add(i) != 0 {
                i += 1;
            }
            let mut aux = envp.add(i + 1);
            let mut page = None;
            while *aux != AT_NULL {
                if *aux == AT_PAGESZ {
                    page = Some(*aux.add(1));
                }
                aux = aux.add(2);
            }
            assert_eq!(page, Some(getauxval(AT_PAGESZ as c_ulong) as usize));
        }
    }
}
