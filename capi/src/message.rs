//! The per-thread error messages: what `staticdl_error()` and `dlerror()`
//! return.
//!
//! Owns the two message slots of each thread. Every failure of an archive call
//! fills both: `staticdl_error()`'s in the facade's wording
//! (`open("x.so"): undefined symbol foo (previous failure)`) and `dlerror()`'s
//! in glibc's (`x.so: undefined symbol: foo`, `wording.rs`). Each reader takes
//! its pending message and keeps it until its next call on the same thread,
//! as glibc keeps the string `dlerror` returned; a successful call changes
//! neither. Does not own the wording itself (`wording.rs`) or which calls fail.

use std::cell::RefCell;
use std::ffi::{c_char, CString};

/// One reader's slot: the pending message, and the one last returned.
#[derive(Default)]
struct Slot {
    pending: Option<CString>,
    returned: Option<CString>,
}

impl Slot {
    /// Moves the pending message to `returned` and gives its address, or null.
    fn take(&mut self) -> *const c_char {
        self.returned = self.pending.take();
        self.returned
            .as_ref()
            .map_or(std::ptr::null(), |s| s.as_ptr())
    }
}

#[derive(Default)]
struct Slots {
    staticdl: Slot,
    dl: Slot,
}

thread_local! {
    static SLOTS: RefCell<Slots> = RefCell::new(Slots::default());
}

/// A message as a C string (an interior NUL, which no path can hold, shown as `?`).
fn c_string(text: &str) -> CString {
    CString::new(text.replace('\0', "?")).unwrap_or_default()
}

/// Records a failure of this thread's current call: `facade` for
/// `staticdl_error()`, `glibc` for `dlerror()`.
pub(crate) fn fail(facade: &str, glibc: &str) {
    let (facade, glibc) = (c_string(facade), c_string(glibc));
    // A thread being torn down has no slots left: the message is dropped.
    let _ = SLOTS.try_with(|s| {
        let mut s = s.borrow_mut();
        s.staticdl.pending = Some(facade);
        s.dl.pending = Some(glibc);
    });
}

/// Records a failure worded the same for both readers.
pub(crate) fn fail_both(text: &str) {
    fail(text, text);
}

/// `staticdl_error()`: this thread's pending facade message, or null.
pub(crate) fn take_staticdl() -> *const c_char {
    SLOTS
        .try_with(|s| s.borrow_mut().staticdl.take())
        .unwrap_or(std::ptr::null())
}

/// `dlerror()`: this thread's pending glibc-worded message, or null.
pub(crate) fn take_dl() -> *const c_char {
    SLOTS
        .try_with(|s| s.borrow_mut().dl.take())
        .unwrap_or(std::ptr::null())
}

#[cfg(test)]
#[allow(unsafe_code)] // reads the slots' C strings back
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn read(p: *const c_char) -> Option<String> {
        // SAFETY: the slots hand out null or a C string they keep alive until
        // the next take on this thread.
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }

    #[test]
    fn each_reader_takes_its_own_wording_once() {
        fail("open(\"x.so\"): boom", "x.so: boom");
        assert_eq!(read(take_dl()).as_deref(), Some("x.so: boom"));
        assert_eq!(read(take_dl()), None);
        assert_eq!(
            read(take_staticdl()).as_deref(),
            Some("open(\"x.so\"): boom")
        );
        assert_eq!(read(take_staticdl()), None);
    }

    #[test]
    fn messages_are_per_thread() {
        fail_both("here");
        std::thread::spawn(|| assert_eq!(read(take_dl()), None))
            .join()
            .unwrap();
        assert_eq!(read(take_dl()).as_deref(), Some("here"));
    }
}
