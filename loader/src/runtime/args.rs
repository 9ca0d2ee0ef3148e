//! The process's `argc`, `argv` and `envp`, as initialisers receive them.
//!
//! Owns [`process_args`]: the arrays glibc passes to every `DT_INIT` and
//! `DT_INIT_ARRAY` function. In a Rust host they are built once from
//! [`std::env::args_os`] and [`std::env::vars_os`] into NUL-terminated C arrays
//! that are never freed. It does not decide when initialisers run (the load
//! does).
//!
//! Unsafe code is allowed in this module: its tests walk the C arrays it builds.
#![allow(unsafe_code)]

use std::ffi::{c_char, CString, OsString};
use std::os::unix::ffi::OsStringExt;
use std::sync::OnceLock;

use crate::ProcessArgs;

/// The process's `argc`, `argv` and `envp`, as glibc passes them to initialisers:
/// built once from [`std::env::args_os`] and [`std::env::vars_os`] into
/// NUL-terminated C arrays that are never freed.
///
/// ```
/// let args = staticdl_loader::runtime::process_args();
/// assert_eq!(args.argc as usize, std::env::args_os().count());
/// assert_ne!(args.argv, 0);
/// ```
pub fn process_args() -> ProcessArgs {
    static ARGS: OnceLock<ProcessArgs> = OnceLock::new();
    *ARGS.get_or_init(|| {
        let argv: Vec<OsString> = std::env::args_os().collect();
        let envp: Vec<OsString> = std::env::vars_os()
            .map(|(k, v)| {
                let mut kv = k;
                kv.push("=");
                kv.push(v);
                kv
            })
            .collect();
        ProcessArgs {
            argc: i32::try_from(argv.len()).unwrap_or(i32::MAX),
            argv: leak_c_array(argv),
            envp: leak_c_array(envp),
        }
    })
}

/// A null-terminated array of C strings, leaked: initialisers may keep the
/// pointers for as long as the process runs.
fn leak_c_array(items: Vec<OsString>) -> usize {
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
}
