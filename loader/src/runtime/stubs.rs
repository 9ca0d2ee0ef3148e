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

/// A stub in use; dropping it gives the stub back.
#[derive(Debug)]
pub(crate) struct StubLease {
    index: u32,
}

impl StubLease {
    /// The stub's address: what a relocation writes.
    pub fn address(&self) -> usize {
        <Native as Arch>::stub_table() + self.index as usize * <Native as Arch>::STUB_SIZE
    }
}

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

/// A stub that, when called, reports that `object` called `symbol`, which
/// nothing defines, and aborts. `None` when every stub is in use.
pub(crate) fn trap(object: &Path, symbol: &str) -> Option<StubLease> {
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
    t.meaning[i] = Some((object.display().to_string(), symbol.to_string()));
    TARGETS[i].store(<Native as Arch>::stub_trap() as *mut (), Ordering::Release);
    Some(StubLease { index })
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
