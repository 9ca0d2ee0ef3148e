//! Stubs: fixed entry points in the loader's own code whose destination is data.
//!
//! Owns the target table behind the architecture's stub table (`arch`): stub `i`
//! jumps through slot `i` here, with `i` in a scratch register, so a stub can be
//! made to stand for anything (a trap for an import nothing defines; later, an
//! interceptor) by writing one pointer, with no code generated or patched and no
//! memory ever writable and executable. [`trap`] hands out a stub that, if
//! called, writes `staticdl: <object>: call of unresolved function <name>` and
//! aborts (glibc's lazy-binding failure, made per symbol); the [`StubLease`] it
//! returns gives the stub back when the object that uses it is unloaded. A stub
//! called after it was given back reports that and aborts too.
//!
//! Unsafe code is allowed in this module: the target table is read by the stub
//! code itself, by its exported name.
#![allow(unsafe_code)]

use std::path::Path;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Mutex;

use crate::arch::{Arch, Native};

/// Entries of the stub table.
pub(crate) const STUBS: usize = 4096;

extern "C" {
    fn staticdl_stub_trap();
}

/// Where each stub jumps; read by the stub table's dispatch code.
#[export_name = "staticdl_stub_targets"]
static TARGETS: [AtomicPtr<()>; STUBS] =
    [const { AtomicPtr::new(staticdl_stub_trap as *mut ()) }; STUBS];

/// What each stub stands for: `(object, symbol)`, or `None` while free.
struct Table {
    meaning: Vec<Option<(String, String)>>,
    free: Vec<u32>,
    next: u32,
}

static TABLE: Mutex<Table> = Mutex::new(Table {
    meaning: Vec::new(),
    free: Vec::new(),
    next: 0,
});

fn table() -> std::sync::MutexGuard<'static, Table> {
    TABLE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A stub in use; dropping it gives the stub back (calls through it then report
/// and abort).
///
/// A stub is an address in the loader's own code that jumps to its target with
/// every argument register, the stack and the return address untouched, and its
/// index in the scratch register `%r11` on x86-64: a target shared by many stubs
/// (an interceptor's thunk) tells them apart by it.
///
/// ```
/// use staticdl_loader::runtime::StubLease;
/// extern "C" fn forty_two() -> i32 { 42 }
/// let stub = StubLease::new(forty_two as extern "C" fn() -> i32 as usize).expect("a free stub");
/// // SAFETY: the stub jumps to `forty_two`, whose type this is.
/// let f: extern "C" fn() -> i32 = unsafe { std::mem::transmute(stub.address()) };
/// assert_eq!(f(), 42);
/// ```
#[derive(Debug)]
pub struct StubLease {
    index: u32,
}

impl StubLease {
    /// A stub jumping to `target`, or `None` when every stub is in use.
    pub fn new(target: usize) -> Option<StubLease> {
        let lease = take(None)?;
        TARGETS[lease.index as usize].store(target as *mut (), Ordering::Release);
        Some(lease)
    }

    /// The stub's address: what a slot is bound to.
    pub fn address(&self) -> usize {
        <Native as Arch>::stub_table() + self.index as usize * <Native as Arch>::STUB_SIZE
    }

    /// The stub's index (what its target finds in `%r11`).
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Point the stub at another target (one aligned store: a call in flight
    /// reaches the old or the new one).
    pub fn set_target(&self, target: usize) {
        TARGETS[self.index as usize].store(target as *mut (), Ordering::Release);
    }
}

/// How many stubs there are.
pub const STUB_COUNT: usize = STUBS;

impl Drop for StubLease {
    fn drop(&mut self) {
        let mut t = table();
        TARGETS[self.index as usize].store(staticdl_stub_trap as *mut (), Ordering::Release);
        if let Some(m) = t.meaning.get_mut(self.index as usize) {
            *m = None;
        }
        t.free.push(self.index);
    }
}

/// A free stub, standing for `meaning` (reported if it traps).
fn take(meaning: Option<(String, String)>) -> Option<StubLease> {
    let mut t = table();
    let index = match t.free.pop() {
        Some(i) => i,
        None if (t.next as usize) < STUBS => {
            t.next += 1;
            t.next - 1
        }
        None => return None,
    };
    let i = index as usize;
    if t.meaning.len() <= i {
        t.meaning.resize(i + 1, None);
    }
    t.meaning[i] = meaning;
    Some(StubLease { index })
}

/// A stub that, when called, reports that `object` called `symbol`, which
/// nothing defines, and aborts. `None` when every stub is in use.
pub(crate) fn trap(object: &Path, symbol: &str) -> Option<StubLease> {
    let lease = take(Some((object.display().to_string(), symbol.to_string())))?;
    TARGETS[lease.index as usize]
        .store(<Native as Arch>::stub_trap() as *mut (), Ordering::Release);
    Some(lease)
}

/// Called by the trap target with the stub's index: never returns.
#[export_name = "staticdl_stub_trap_slow"]
extern "C" fn trap_slow(index: usize) -> ! {
    let meaning = TABLE
        .try_lock()
        .ok()
        .and_then(|t| t.meaning.get(index).cloned().flatten());
    match meaning {
        Some((object, symbol)) => {
            eprintln!("staticdl: {object}: call of unresolved function {symbol}")
        }
        None => eprintln!("staticdl: call through stub {index}, which is not in use"),
    }
    std::process::abort()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stubs_are_distinct_and_given_back() {
        let a = trap(Path::new("/x/liba.so"), "f").unwrap();
        let b = trap(Path::new("/x/liba.so"), "g").unwrap();
        assert_ne!(a.address(), b.address());
        assert_eq!(
            b.address().abs_diff(a.address()) % <Native as Arch>::STUB_SIZE,
            0
        );
        let freed = a.index;
        drop(a);
        let c = trap(Path::new("/x/libc.so"), "h").unwrap();
        assert_eq!(c.index, freed, "a given-back stub is reused");
        assert!(table().meaning[c.index as usize].as_ref().unwrap().1 == "h");
    }
}
