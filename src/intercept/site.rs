//! Sites: one stub per trapped binding, and the state the thunk finds by the
//! stub's index.
//!
//! Owns the process-wide site table: for each stub leased from the loader
//! (`StubLease`, a fixed entry point in the loader's `.text` whose destination
//! is data), what it stands for ([`Meta`]), the real target, which
//! interceptors are linked to it (each under the id of the registration that
//! linked it), and who owns it (the importing or exporting object, by its
//! mapped range). The thunk reads a site through [`slot`] without a lock: a
//! published [`SiteState`] is immutable, and a replaced one is kept until the
//! site is released, which happens only when its owner is unloaded (no call
//! can be running through it then). A stub goes straight to the real target
//! while its site has no interceptor with a hook and no thread has a
//! per-thread interceptor, and to the thunk otherwise.
//!
//! It does not decide which bindings to trap (`bind.rs`, `attach.rs`) or run
//! hooks (`dispatch.rs`).
//!
//! Unsafe code is allowed in this module: published states are shared with the
//! thunk as raw pointers and freed when their site is released.
#![allow(unsafe_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use staticdl_loader::runtime::{StubLease, STUB_COUNT};

use super::interceptor::Interceptor;
use super::meta::{Meta, TrapKind};

/// What the thunk reads of a site: immutable once published.
pub(crate) struct SiteState {
    pub meta: Arc<Meta>,
    /// The interceptors with hooks, in the order they were linked.
    pub chain: Box<[Interceptor]>,
    /// Posts never run for this symbol (its callee looks at its own return
    /// address or returns twice): calls always go on with the caller's frame.
    pub pre_only: bool,
}

/// The lock-free part of a site, indexed by stub.
pub(crate) struct Slot {
    pub target: AtomicUsize,
    pub state: AtomicPtr<SiteState>,
}

static SLOTS: [Slot; STUB_COUNT] = [const {
    Slot {
        target: AtomicUsize::new(0),
        state: AtomicPtr::new(std::ptr::null_mut()),
    }
}; STUB_COUNT];

/// The slot of stub `index`, or `None` for an index no stub has.
pub(crate) fn slot(index: usize) -> Option<&'static Slot> {
    SLOTS.get(index)
}

/// Functions whose callee inspects its own return address or stack (to find
/// the calling object, or to return a second time): a post would put the
/// thunk there, so their calls always continue with the caller's own frame.
const PRE_ONLY: &[&[u8]] = &[
    b"setjmp",
    b"_setjmp",
    b"sigsetjmp",
    b"__sigsetjmp",
    b"savectx",
    b"vfork",
    b"__vfork",
    b"getcontext",
    b"swapcontext",
    b"dlopen",
    b"dlmopen",
    b"dlsym",
    b"dlvsym",
];

/// What identifies a site: one per binding target of one object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub kind: TrapKind,
    pub object: PathBuf,
    pub symbol: Vec<u8>,
    pub version: Option<Vec<u8>>,
    pub target: usize,
}

/// Who a site belongs to: it is released when that object is unloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    /// Its object is being loaded; settled when the load ends.
    Pending,
    /// The object mapped at this start address.
    Mapped(usize),
}

/// One interceptor linked to a site by a registration.
#[derive(Clone)]
pub(crate) struct Link {
    pub id: u64,
    pub interceptor: Interceptor,
}

struct Entry {
    lease: StubLease,
    key: Key,
    owner: Owner,
    meta: Arc<Meta>,
    links: Vec<Link>,
    current: *mut SiteState,
    retired: Vec<*mut SiteState>,
}

// SAFETY: the raw pointers are boxes this entry owns (published states), read
// by any thread through the slots and freed only under the table's lock.
unsafe impl Send for Entry {}

#[derive(Default)]
struct Table {
    entries: HashMap<u32, Entry>,
    by_key: HashMap<Key, u32>,
    /// Export sites by their real target.
    exports: HashMap<usize, u32>,
    /// Every leased stub by its address.
    stubs: HashMap<usize, u32>,
    /// Per-thread interceptors alive in any thread.
    locals: usize,
}

static TABLE: LazyLock<Mutex<Table>> = LazyLock::new(Mutex::default);

/// Whether any export site exists (the lookups' fast path).
static EXPORTS: AtomicUsize = AtomicUsize::new(0);

fn table() -> MutexGuard<'static, Table> {
    TABLE.lock().unwrap_or_else(|e| e.into_inner())
}

/// The stub address of the site for `key`, made if there is none (owned by
/// `owner`), with `links` linked to it (a link already there is not added
/// twice). `None` when every stub is in use.
pub(crate) fn link(key: Key, owner: Owner, links: &[Link]) -> Option<(u32, usize)> {
    let mut t = table();
    let locals = t.locals > 0;
    let index = match t.by_key.get(&key) {
        Some(&i) => i,
        None => {
            let lease = StubLease::new(key.target)?;
            let i = lease.index();
            let meta = Arc::new(Meta::new(
                key.kind,
                &key.symbol,
                key.version.as_deref(),
                key.object.clone(),
            ));
            t.stubs.insert(lease.address(), i);
            t.by_key.insert(key.clone(), i);
            t.entries.insert(
                i,
                Entry {
                    lease,
                    key,
                    owner,
                    meta,
                    links: Vec::new(),
                    current: std::ptr::null_mut(),
                    retired: Vec::new(),
                },
            );
            i
        }
    };
    let e = t.entries.get_mut(&index)?;
    let mut changed = e.current.is_null();
    for l in links {
        let present = e
            .links
            .iter()
            .any(|x| x.id == l.id && Interceptor::same(&x.interceptor, &l.interceptor));
        if !present {
            e.links.push(l.clone());
            changed = true;
        }
    }
    if changed {
        publish(index, e, locals);
    }
    let (stub, kind, target) = (e.lease.address(), e.key.kind, e.key.target);
    if kind == TrapKind::Export && !t.exports.contains_key(&target) {
        t.exports.insert(target, index);
        EXPORTS.fetch_add(1, Ordering::Release);
    }
    Some((index, stub))
}

/// Publishes `e`'s chain as it is now and points its stub where it must go.
fn publish(index: u32, e: &mut Entry, locals: bool) {
    let chain: Box<[Interceptor]> = e
        .links
        .iter()
        .filter(|l| l.interceptor.is_active())
        .map(|l| l.interceptor.clone())
        .collect();
    let active = !chain.is_empty();
    let state = Box::into_raw(Box::new(SiteState {
        meta: e.meta.clone(),
        chain,
        pre_only: PRE_ONLY.contains(&e.key.symbol.as_slice()),
    }));
    let slot = &SLOTS[index as usize];
    slot.target.store(e.key.target, Ordering::Release);
    let old = slot.state.swap(state, Ordering::AcqRel);
    if !old.is_null() {
        e.retired.push(old);
    }
    e.current = state;
    e.lease.set_target(if active || locals {
        super::thunk::address()
    } else {
        e.key.target
    });
}

/// Unlinks every interceptor registration `id` linked. Returns the sites it
/// left without any link, with their keys and stub addresses.
pub(crate) fn unlink(id: u64) -> Vec<(Key, usize)> {
    let mut t = table();
    let locals = t.locals > 0;
    let mut emptied = Vec::new();
    for (&i, e) in t.entries.iter_mut() {
        let before = e.links.len();
        e.links.retain(|l| l.id != id);
        if e.links.len() != before {
            publish(i, e, locals);
            if e.links.is_empty() {
                emptied.push((i, e.key.clone(), e.lease.address()));
            }
        }
    }
    // An export site without links is no longer handed out (it stays valid
    // for whoever holds its address until its object is unloaded).
    for (i, key, _) in &emptied {
        if key.kind == TrapKind::Export && t.exports.get(&key.target) == Some(i) {
            t.exports.remove(&key.target);
            EXPORTS.fetch_sub(1, Ordering::Release);
        }
    }
    emptied.into_iter().map(|(_, k, s)| (k, s)).collect()
}

/// Sets the owner of the pending sites `indices`: `resolve` maps an object's
/// path to where it is mapped; a site whose object is not loaded (its load
/// failed) is released.
pub(crate) fn settle(indices: &[u32], resolve: impl Fn(&std::path::Path) -> Option<usize>) {
    let mut t = table();
    let mut dead = Vec::new();
    for i in indices {
        if let Some(e) = t.entries.get_mut(i) {
            if e.owner == Owner::Pending {
                match resolve(&e.key.object) {
                    Some(start) => e.owner = Owner::Mapped(start),
                    None => dead.push(*i),
                }
            }
        }
    }
    for i in dead {
        release(&mut t, i);
    }
}

/// Releases every site owned by the object mapped at `start` (it is being
/// unmapped).
pub(crate) fn release_owner(start: usize) {
    let mut t = table();
    let dead: Vec<u32> = t
        .entries
        .iter()
        .filter(|(_, e)| e.owner == Owner::Mapped(start))
        .map(|(&i, _)| i)
        .collect();
    for i in dead {
        release(&mut t, i);
    }
}

fn release(t: &mut Table, index: u32) {
    let Some(e) = t.entries.remove(&index) else {
        return;
    };
    t.by_key.remove(&e.key);
    t.stubs.remove(&e.lease.address());
    if e.key.kind == TrapKind::Export && t.exports.get(&e.key.target) == Some(&index) {
        t.exports.remove(&e.key.target);
        EXPORTS.fetch_sub(1, Ordering::Release);
    }
    let slot = &SLOTS[index as usize];
    slot.state.store(std::ptr::null_mut(), Ordering::Release);
    slot.target.store(0, Ordering::Release);
    for p in e.retired.into_iter().chain(std::iter::once(e.current)) {
        if !p.is_null() {
            // SAFETY: every published state is a box made by `publish`, owned by
            // this entry; its owner is unloaded, so no call runs through it.
            drop(unsafe { Box::from_raw(p) });
        }
    }
    // Dropping the lease gives the stub back (it traps until reused).
    drop(e.lease);
}

/// The export site whose real target is `target`: its stub address and owner.
pub(crate) fn export_stub(target: usize) -> Option<(usize, Owner)> {
    if EXPORTS.load(Ordering::Acquire) == 0 {
        return None;
    }
    let t = table();
    let e = t.entries.get(t.exports.get(&target)?)?;
    Some((e.lease.address(), e.owner))
}

/// Whether any export site exists.
pub(crate) fn any_exports() -> bool {
    EXPORTS.load(Ordering::Acquire) != 0
}

/// The site whose stub is at `addr`: its key.
pub(crate) fn by_stub(addr: usize) -> Option<Key> {
    let t = table();
    let i = t.stubs.get(&addr)?;
    t.entries.get(i).map(|e| e.key.clone())
}

/// Counts a per-thread interceptor made (`+1`) or dropped (`-1`) anywhere:
/// while any is alive, every stub goes to the thunk.
pub(crate) fn locals_changed(delta: isize) {
    let mut t = table();
    let before = t.locals;
    t.locals = before.saturating_add_signed(delta);
    if (before == 0) != (t.locals == 0) {
        let locals = t.locals > 0;
        for (&i, e) in t.entries.iter_mut() {
            let active = {
                // SAFETY: `current` is this entry's published state.
                let s = unsafe { &*e.current };
                !s.chain.is_empty()
            };
            let _ = i;
            e.lease.set_target(if active || locals {
                super::thunk::address()
            } else {
                e.key.target
            });
        }
    }
}

/// How many sites exist.
pub(crate) fn count() -> usize {
    table().entries.len()
}
