//! CPU affinity in thread attributes: glibc's `pthread_attr_setaffinity_np`
//! and `pthread_attr_getaffinity_np`, which musl does not have.
//!
//! glibc keeps the set in the attribute's extension and applies it when
//! `pthread_create` starts the thread. Owns the same behaviour over the host's
//! threads: the set is kept beside the attribute (keyed by its address, forgotten
//! by `pthread_attr_init` and `pthread_attr_destroy` of that address), and
//! `pthread_create` with such an attribute starts the thread through a
//! trampoline that applies the set (`sched_setaffinity`) before the thread's own
//! function runs and tells the creator whether it could: as with glibc, a set
//! the kernel refuses makes `pthread_create` fail with its error, and the
//! thread never runs its function. libgomp uses these for `OMP_PROC_BIND`.
//!
//! Unsafe code is allowed in this module: these are C entry points taking the
//! caller's pointers, and the trampoline hands a heap block across threads.
//!
//! Unsafe code is allowed in this module: these are C entry points taking the caller's
//! pointers, and the trampoline hands a heap block across threads.
#![allow(unsafe_code)]

use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::sync::mpsc;
use std::sync::Mutex;

/// The largest set kept (glibc's `cpu_set_t` is 128 bytes; the kernel accepts
/// larger ones, glibc copies whatever size it is given).
const MAX_SET: usize = 8192;

/// The set of each attribute that has one, by the attribute's address.
static SETS: Mutex<Option<HashMap<usize, Vec<u8>>>> = Mutex::new(None);

fn with_sets<R>(f: impl FnOnce(&mut HashMap<usize, Vec<u8>>) -> R) -> R {
    let mut g = SETS.lock().unwrap_or_else(|e| e.into_inner());
    f(g.get_or_insert_with(HashMap::new))
}

/// `int pthread_attr_setaffinity_np(pthread_attr_t *, size_t, const cpu_set_t *)`.
///
/// # Safety
/// `set` points at `size` readable bytes (or is null with any size).
pub(crate) unsafe extern "C" fn setaffinity(
    attr: *mut libc::pthread_attr_t,
    size: usize,
    set: *const c_void,
) -> c_int {
    if attr.is_null() {
        return libc::EINVAL;
    }
    if set.is_null() || size == 0 {
        with_sets(|s| s.remove(&(attr as usize)));
        return 0;
    }
    if size > MAX_SET {
        return libc::EINVAL;
    }
    // SAFETY: the caller's contract: `size` readable bytes at `set`.
    let bytes = unsafe { std::slice::from_raw_parts(set as *const u8, size) }.to_vec();
    with_sets(|s| s.insert(attr as usize, bytes));
    0
}

/// `int pthread_attr_getaffinity_np(const pthread_attr_t *, size_t, cpu_set_t *)`:
/// the set kept for the attribute, or every CPU when it has none; `EINVAL` when
/// the kept set names a CPU beyond `size` bytes.
///
/// # Safety
/// `set` points at `size` writable bytes.
pub(crate) unsafe extern "C" fn getaffinity(
    attr: *const libc::pthread_attr_t,
    size: usize,
    set: *mut c_void,
) -> c_int {
    if attr.is_null() || set.is_null() {
        return libc::EINVAL;
    }
    let kept = with_sets(|s| s.get(&(attr as usize)).cloned());
    // SAFETY: the caller's contract: `size` writable bytes at `set`.
    let out = unsafe { std::slice::from_raw_parts_mut(set as *mut u8, size) };
    match kept {
        None => out.fill(0xff),
        Some(bytes) => {
            if bytes.iter().skip(size).any(|&b| b != 0) {
                return libc::EINVAL;
            }
            out.fill(0);
            let n = bytes.len().min(size);
            out[..n].copy_from_slice(&bytes[..n]);
        }
    }
    0
}

/// `int pthread_attr_init(pthread_attr_t *)`: the host's, forgetting a set kept
/// for a previous attribute at the same address.
///
/// # Safety
/// As the host's `pthread_attr_init`.
pub(crate) unsafe extern "C" fn attr_init(attr: *mut libc::pthread_attr_t) -> c_int {
    with_sets(|s| s.remove(&(attr as usize)));
    // SAFETY: forwarded contract.
    unsafe { libc::pthread_attr_init(attr) }
}

/// `int pthread_attr_destroy(pthread_attr_t *)`: the host's, and the kept set
/// goes with it.
///
/// # Safety
/// As the host's `pthread_attr_destroy`.
pub(crate) unsafe extern "C" fn attr_destroy(attr: *mut libc::pthread_attr_t) -> c_int {
    with_sets(|s| s.remove(&(attr as usize)));
    // SAFETY: forwarded contract.
    unsafe { libc::pthread_attr_destroy(attr) }
}

type Start = extern "C" fn(*mut c_void) -> *mut c_void;

extern "C" {
    /// POSIX; not declared by the `libc` crate.
    fn pthread_attr_getdetachstate(attr: *const libc::pthread_attr_t, state: *mut c_int) -> c_int;
}

/// What the trampoline needs: the thread's function and argument, the set, and
/// where to say whether the set was applied.
struct Launch {
    start: Start,
    arg: *mut c_void,
    set: Vec<u8>,
    applied: mpsc::SyncSender<c_int>,
}

extern "C" fn trampoline(launch: *mut c_void) -> *mut c_void {
    // SAFETY: `create` passes a leaked `Box<Launch>`, taken back exactly once here.
    let launch = unsafe { Box::from_raw(launch as *mut Launch) };
    // SAFETY: a plain system call on this thread with a buffer of `len` bytes.
    let r = unsafe { libc::sched_setaffinity(0, launch.set.len(), launch.set.as_ptr().cast()) };
    let err = if r == 0 {
        0
    } else {
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EINVAL)
    };
    let _ = launch.applied.send(err);
    if err != 0 {
        return std::ptr::null_mut();
    }
    (launch.start)(launch.arg)
}

/// `int pthread_create(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *)`:
/// the host's, with the attribute's CPU set (if one was kept) applied in the
/// new thread before `start` runs.
///
/// # Safety
/// As the host's `pthread_create`.
pub(crate) unsafe extern "C" fn create(
    thread: *mut libc::pthread_t,
    attr: *const libc::pthread_attr_t,
    start: Start,
    arg: *mut c_void,
) -> c_int {
    let set = if attr.is_null() {
        None
    } else {
        with_sets(|s| s.get(&(attr as usize)).cloned())
    };
    let Some(set) = set else {
        // SAFETY: forwarded contract.
        return unsafe { libc::pthread_create(thread, attr, start, arg) };
    };
    let (applied, result) = mpsc::sync_channel(1);
    let launch = Box::into_raw(Box::new(Launch {
        start,
        arg,
        set,
        applied,
    }));
    // SAFETY: forwarded contract; the trampoline takes ownership of `launch`.
    let r = unsafe { libc::pthread_create(thread, attr, trampoline, launch.cast()) };
    if r != 0 {
        // SAFETY: the thread was not created: `launch` is still ours.
        drop(unsafe { Box::from_raw(launch) });
        return r;
    }
    match result.recv() {
        Ok(0) => 0,
        Ok(err) => {
            // The thread ends without running `start`; reap it unless detached.
            let mut state: c_int = 0;
            // SAFETY: `attr` is the caller's valid attribute; `thread` was filled.
            unsafe {
                if pthread_attr_getdetachstate(attr, &mut state) == 0
                    && state == libc::PTHREAD_CREATE_JOINABLE
                {
                    libc::pthread_join(*thread, std::ptr::null_mut());
                }
            }
            err
        }
        Err(_) => libc::EAGAIN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_set_round_trips_and_a_missing_one_is_every_cpu() {
        // SAFETY: a zeroed attribute initialised by the host, buffers of the
        // sizes passed.
        unsafe {
            let mut attr: libc::pthread_attr_t = std::mem::zeroed();
            assert_eq!(attr_init(&mut attr), 0);
            let mut out = [0u8; 16];
            assert_eq!(getaffinity(&attr, 16, out.as_mut_ptr().cast()), 0);
            assert_eq!(out, [0xff; 16]);
            let set = [0b101u8, 0, 0, 0];
            assert_eq!(setaffinity(&mut attr, 4, set.as_ptr().cast()), 0);
            assert_eq!(getaffinity(&attr, 16, out.as_mut_ptr().cast()), 0);
            assert_eq!(&out[..4], &set);
            assert!(out[4..].iter().all(|&b| b == 0));
            assert_eq!(attr_destroy(&mut attr), 0);
            assert!(with_sets(|s| !s.contains_key(&(&attr as *const _ as usize))));
        }
    }
}
