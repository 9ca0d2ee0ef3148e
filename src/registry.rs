//! A registry of values loaded from files: one value per file, loaded once.
//!
//! Owns [`Registry`], generic over the value `V` it hands out (the facade's plugin
//! state) and the failure `E` it remembers: one slot per canonical path (loading,
//! loaded, or failed), the map from exact requested path strings to slots, the map
//! from file identity to slot (hard links), the [`Condvar`] that threads wait on
//! while another thread loads, the per-thread hit map and the [`Lease`] a loaded
//! value holds. The rules:
//!
//! - one thread loads a given file; the others wait for its result, and the
//!   registry mutex is never held while loading or running the loader's code;
//! - every outcome, including a panic of the loading thread, is published and
//!   wakes every waiter (`Publisher`);
//! - the registry holds values weakly (strongly only for `keep`): the last
//!   handle's drop unloads the value, and its [`Lease`] then clears the slot, so a
//!   later open loads afresh instead of reviving a value that is being torn down;
//! - a failure is remembered until [`Registry::forget_failure`];
//! - an open of a file from inside its own load or unload on the same thread (a
//!   plugin's init or fini opening itself) is refused ([`Refusal::Reentrant`])
//!   instead of waiting for itself;
//! - a repeated open by the same absolute path string in the same thread is
//!   answered from a lock-free thread-local map ([`Local`], reached through the
//!   registry's [`PerThread`] type, statically, so the hit costs no indirect
//!   call).
//!
//! It knows nothing of plugins, ELF or the filesystem: it does not load anything
//! (its caller's closure does) or resolve paths (`path.rs`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::ThreadId;

use staticdl_loader::FileId;

use self::fnv::Fnv;

mod fnv;

/// Which file an open is about, as resolved by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileKey {
    /// The canonical path: the slot's key.
    pub canonical: PathBuf,
    /// `(st_dev, st_ino)`: another canonical path with the same identity (a hard
    /// link) shares the slot while it is live.
    pub id: FileId,
}

/// The value a registry publishes for a load whose thread panicked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Panicked;

/// Why [`Registry::open`] gives no value.
pub(crate) enum Refusal<E> {
    /// The load failed, now or before.
    Failed {
        /// What the load returned (or [`Panicked`]), shared by every caller.
        cause: Arc<E>,
        /// Whether the failure was remembered from an earlier load rather than
        /// produced by this call or by a load this call waited for.
        previous: bool,
    },
    /// The file was opened from inside its own load or unload on this thread.
    Reentrant,
}

type Hits<V> = HashMap<Box<[u8]>, Weak<V>, BuildHasherDefault<Fnv>>;

/// A registry's per-thread state, in a `thread_local!` of its owner that the
/// registry reaches through its [`PerThread`] type (see [`per_thread!`]).
pub(crate) struct Local<V> {
    /// The hottest path of all, a repeated open by the very same absolute path
    /// string in the same thread: its bytes straight to the live value. A dead
    /// entry (the value was unloaded) never upgrades and is replaced; a live one is
    /// exactly what the registry would return, since a loaded value's slot cannot
    /// change while it lives.
    hits: RefCell<Hits<V>>,
    /// The keys of the values this thread is unloading right now (their teardown
    /// may call back into the host and open again).
    closing: RefCell<Vec<PathBuf>>,
}

impl<V> Local<V> {
    /// Empty per-thread state.
    pub(crate) fn new() -> Self {
        Local {
            hits: RefCell::new(Hits::default()),
            closing: RefCell::new(Vec::new()),
        }
    }
}

/// Where a registry's per-thread state lives: a type with one `thread_local!`,
/// declared with [`per_thread!`].
pub(crate) trait PerThread<V: 'static>: 'static {
    /// Runs `f` on this thread's state; `None` once the thread is tearing down
    /// its thread-locals.
    fn with<R>(f: impl FnOnce(&Local<V>) -> R) -> Option<R>;
}

/// `per_thread!(Name: V)` declares type `Name`, whose [`PerThread`] state for
/// values `V` is a `thread_local!` of its own.
macro_rules! per_thread {
    ($vis:vis $name:ident: $value:ty) => {
        /// The per-thread state of a registry (see `registry::PerThread`).
        $vis struct $name;

        impl $crate::registry::PerThread<$value> for $name {
            #[inline]
            fn with<R>(f: impl FnOnce(&$crate::registry::Local<$value>) -> R) -> Option<R> {
                thread_local! {
                    static LOCAL: $crate::registry::Local<$value> =
                        $crate::registry::Local::new();
                }
                LOCAL.try_with(f).ok()
            }
        }
    };
}
pub(crate) use per_thread;

/// One value per file, loaded once; see the module docs for the rules. `T` is
/// where its per-thread state lives.
pub(crate) struct Registry<V: 'static, E: 'static, T> {
    shared: LazyLock<Mutex<Shared<V, E>>>,
    /// Signalled whenever a slot changes state.
    changed: Condvar,
    threads: PhantomData<fn() -> T>,
    /// How many times an open started waiting for another thread's load or
    /// unload: lets the tests release a load only once its waiters wait.
    #[cfg(test)]
    waits: std::sync::atomic::AtomicUsize,
}

struct Shared<V, E> {
    /// One slot per canonical path.
    slots: HashMap<PathBuf, Slot<V, E>>,
    /// Absolute paths already opened, exactly as requested (compared component
    /// by component, as `Path` does: `a//b` and `a/./b` are `a/b`), to the
    /// canonical key of their slot: a repeated open by the same path touches no
    /// file.
    by_request: HashMap<PathBuf, PathBuf>,
    /// File identity to the canonical key loaded from it (hard links).
    by_file: HashMap<FileId, PathBuf>,
    /// Distinguishes successive loads of the same key.
    next_ticket: u64,
}

impl<V, E> Default for Shared<V, E> {
    fn default() -> Self {
        Shared {
            slots: HashMap::new(),
            by_request: HashMap::new(),
            by_file: HashMap::new(),
            next_ticket: 0,
        }
    }
}

enum Slot<V, E> {
    /// A thread is loading it.
    Loading { ticket: u64, by: ThreadId },
    /// Loaded; `value` is dead once the last handle has gone (the slot is then
    /// about to be cleared by the value's [`Lease`]).
    Loaded {
        ticket: u64,
        value: Weak<V>,
        pinned: Option<Arc<V>>,
    },
    /// The load failed; remembered until forgotten.
    Failed { ticket: u64, cause: Arc<E> },
}

/// What a slot says to an opener, decided under the lock.
enum Found<V, E> {
    Value(Arc<V>),
    Failed {
        ticket: u64,
        cause: Arc<E>,
    },
    /// Loading, or loaded but being unloaded: wait for a change.
    Busy {
        ticket: u64,
        by: ThreadId,
    },
    Vacant,
}

impl<V, E> Shared<V, E> {
    fn find(&mut self, key: &Path, keep: bool) -> Found<V, E> {
        match self.slots.get_mut(key) {
            None => Found::Vacant,
            Some(Slot::Loading { ticket, by }) => Found::Busy {
                ticket: *ticket,
                by: *by,
            },
            Some(Slot::Failed { ticket, cause }) => Found::Failed {
                ticket: *ticket,
                cause: cause.clone(),
            },
            Some(Slot::Loaded {
                ticket,
                value,
                pinned,
            }) => match value.upgrade() {
                Some(value) => {
                    if keep && pinned.is_none() {
                        *pinned = Some(value.clone());
                    }
                    Found::Value(value)
                }
                // Its last handle is being dropped: its teardown may have run
                // already. Wait for the `Lease` to clear the slot.
                None => Found::Busy {
                    ticket: *ticket,
                    by: std::thread::current().id(),
                },
            },
        }
    }

    /// The key to file `canonical` under: its own, or that of a live slot loaded
    /// from the same file through another name (a hard link).
    fn key_for(&self, canonical: &Path, id: FileId) -> PathBuf {
        if self.slots.contains_key(canonical) {
            return canonical.to_path_buf();
        }
        if let Some(other) = self.by_file.get(&id) {
            let live = match self.slots.get(other) {
                Some(Slot::Loading { .. }) => true,
                Some(Slot::Loaded { value, .. }) => value.strong_count() > 0,
                _ => false,
            };
            if live {
                return other.clone();
            }
        }
        canonical.to_path_buf()
    }

    /// Remembers that the absolute path string `requested` names `key`.
    fn remember(&mut self, requested: &Path, key: &Path) {
        if !requested.is_absolute() {
            // A relative path means another file after a `chdir`.
            return;
        }
        let Shared {
            slots, by_request, ..
        } = self;
        if !by_request.contains_key(requested) {
            by_request.retain(|_, k| slots.contains_key(k));
        }
        by_request.insert(requested.to_path_buf(), key.to_path_buf());
    }

    fn ticket(&mut self) -> u64 {
        self.next_ticket += 1;
        self.next_ticket
    }
}

impl<V, E, T> Registry<V, E, T> {
    /// An empty registry.
    pub(crate) const fn new() -> Self {
        Registry {
            shared: LazyLock::new(Default::default),
            changed: Condvar::new(),
            threads: PhantomData,
            #[cfg(test)]
            waits: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shared<V, E>> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<V, E, T> Registry<V, E, T>
where
    V: Send + Sync + 'static,
    E: From<Panicked> + Send + Sync + 'static,
    T: PerThread<V>,
{
    /// Remembers, for this thread, that the absolute path string `requested` names
    /// live value `value`.
    fn remember_hit(&self, requested: &Path, value: &Arc<V>) {
        if !requested.is_absolute() {
            return;
        }
        let bytes = requested.as_os_str().as_encoded_bytes();
        T::with(|l| {
            let mut h = l.hits.borrow_mut();
            if !h.contains_key(bytes) {
                h.retain(|_, w| w.strong_count() > 0);
            }
            h.insert(bytes.into(), Arc::downgrade(value));
        });
    }

    /// The live value these exact bytes named when this thread opened them
    /// before: no lock, no allocation, no file. Never pins (a `keep` open must go
    /// through [`Registry::find_by_request`]).
    #[inline]
    pub(crate) fn hit(&self, requested: &Path) -> Option<Arc<V>> {
        T::with(|l| {
            l.hits
                .borrow()
                .get(requested.as_os_str().as_encoded_bytes())
                .and_then(Weak::upgrade)
        })
        .flatten()
    }

    /// Answers an open of `requested` without touching any file, if the registry
    /// can: this exact absolute path was opened before and its slot is loaded or
    /// failed. `None` means: resolve the path and call [`Registry::open`]. With
    /// `keep`, a loaded value is pinned.
    pub(crate) fn find_by_request(
        &'static self,
        requested: &Path,
        keep: bool,
    ) -> Option<Result<Arc<V>, Refusal<E>>> {
        if !requested.is_absolute() {
            return None;
        }
        let mut shared = self.lock();
        let key = shared.by_request.get(requested).cloned()?;
        match shared.find(&key, keep) {
            Found::Value(value) => {
                self.remember_hit(requested, &value);
                Some(Ok(value))
            }
            Found::Failed { cause, .. } => Some(Err(Refusal::Failed {
                cause,
                previous: true,
            })),
            // Wait or load through `open`.
            Found::Busy { .. } | Found::Vacant => None,
        }
    }

    /// Opens `file` (requested as `requested`): the value already loaded from it,
    /// the result of a load under way in another thread (waited for), the failure
    /// remembered for it, or else what `load` returns now. `load` runs without the
    /// registry lock, gets the slot's key (the canonical path to load) and the
    /// [`Lease`] the value must hold, and its result is published to every waiter.
    /// With `keep`, the registry holds the value strongly from now on.
    pub(crate) fn open<F>(
        &'static self,
        requested: &Path,
        file: FileKey,
        keep: bool,
        load: F,
    ) -> Result<Arc<V>, Refusal<E>>
    where
        F: FnOnce(&Path, Lease) -> Result<Arc<V>, E>,
    {
        let mut shared = self.lock();
        // The load this call waited for, if any: its failure is not a "previous" one.
        let mut waited_for = None;
        let (key, ticket) = loop {
            let key = shared.key_for(&file.canonical, file.id);
            match shared.find(&key, keep) {
                Found::Value(value) => {
                    shared.remember(requested, &key);
                    self.remember_hit(requested, &value);
                    return Ok(value);
                }
                Found::Failed { ticket, cause } => {
                    shared.remember(requested, &key);
                    let previous = waited_for != Some(ticket);
                    return Err(Refusal::Failed { cause, previous });
                }
                Found::Busy { ticket, by } => {
                    let loading_here = by == std::thread::current().id()
                        && matches!(shared.slots.get(&key), Some(Slot::Loading { .. }));
                    let closing_here =
                        T::with(|l| l.closing.borrow().contains(&key)).unwrap_or(false);
                    if loading_here || closing_here {
                        // The value's own load or teardown (or a host callback it
                        // made) opens it again: waiting would wait for ourselves.
                        return Err(Refusal::Reentrant);
                    }
                    waited_for = Some(ticket);
                    #[cfg(test)]
                    self.waits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    shared = self
                        .changed
                        .wait(shared)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                Found::Vacant => {
                    let ticket = shared.ticket();
                    shared.slots.insert(
                        key.clone(),
                        Slot::Loading {
                            ticket,
                            by: std::thread::current().id(),
                        },
                    );
                    let Shared { slots, by_file, .. } = &mut *shared;
                    by_file.retain(|_, k| slots.contains_key(k));
                    by_file.insert(file.id, key.clone());
                    shared.remember(requested, &key);
                    break (key, ticket);
                }
            }
        };
        drop(shared);

        let publisher = Publisher {
            registry: self,
            key: key.clone(),
            ticket,
            published: false,
        };
        let lease = Lease {
            registry: self,
            key: key.clone(),
            ticket,
        };
        let result = load(&key, lease).map_err(Arc::new);
        publisher
            .publish(result, keep)
            .map_err(|cause| Refusal::Failed {
                cause,
                previous: false,
            })
    }

    /// Forgets a remembered failure for `requested` (as requested before, or, with
    /// `resolve`, any path to the same file), so that the next open tries again.
    /// Returns whether a failure was forgotten; a loaded or loading value is left
    /// alone. `resolve` runs only when `requested` was never opened by that exact
    /// string; `None` from it forgets nothing.
    pub(crate) fn forget_failure(
        &'static self,
        requested: &Path,
        resolve: impl FnOnce() -> Option<FileKey>,
    ) -> bool {
        let known = self.lock().by_request.get(requested).cloned();
        let key = match known {
            Some(key) => key,
            None => match resolve() {
                Some(file) => self.lock().key_for(&file.canonical, file.id),
                None => return false,
            },
        };
        let mut shared = self.lock();
        if matches!(shared.slots.get(&key), Some(Slot::Failed { .. })) {
            let forgotten = shared.slots.remove(&key);
            drop(shared);
            self.changed.notify_all();
            drop(forgotten);
            true
        } else {
            false
        }
    }
}

/// Publishes the outcome of one load exactly once; if dropped unpublished (the
/// loading thread panicked), publishes [`Panicked`]. Either way every waiter is
/// woken.
struct Publisher<V: 'static, E: From<Panicked> + 'static, T: 'static> {
    registry: &'static Registry<V, E, T>,
    key: PathBuf,
    ticket: u64,
    published: bool,
}

impl<V, E: From<Panicked>, T> Publisher<V, E, T> {
    fn publish(mut self, result: Result<Arc<V>, Arc<E>>, keep: bool) -> Result<Arc<V>, Arc<E>> {
        let slot = match &result {
            Ok(value) => Slot::Loaded {
                ticket: self.ticket,
                value: Arc::downgrade(value),
                pinned: keep.then(|| value.clone()),
            },
            Err(cause) => Slot::Failed {
                ticket: self.ticket,
                cause: cause.clone(),
            },
        };
        self.set(slot);
        self.published = true;
        result
    }

    fn set(&self, slot: Slot<V, E>) {
        let mut shared = self.registry.lock();
        let ours = matches!(
            shared.slots.get(&self.key),
            Some(Slot::Loading { ticket, .. }) if *ticket == self.ticket
        );
        // Whatever is not kept is dropped after unlocking: dropping a value may
        // unload it, which takes the lock.
        let leftover = if ours {
            shared.slots.insert(self.key.clone(), slot)
        } else {
            Some(slot)
        };
        drop(shared);
        self.registry.changed.notify_all();
        drop(leftover);
    }
}

impl<V, E: From<Panicked>, T> Drop for Publisher<V, E, T> {
    fn drop(&mut self) {
        if !self.published {
            self.set(Slot::Failed {
                ticket: self.ticket,
                cause: Arc::new(E::from(Panicked)),
            });
        }
    }
}

/// What a [`Lease`] needs of its registry, whatever the registry's value type.
trait Slots: Sync {
    /// Marks `key` as being torn down by this thread.
    fn closing(&self, key: &Path);
    /// Unmarks `key`, and clears its slot if it still holds load `ticket`.
    fn release(&self, key: &Path, ticket: u64);
}

impl<V, E, T> Slots for Registry<V, E, T>
where
    V: Send + Sync + 'static,
    E: Send + Sync + 'static,
    T: PerThread<V>,
{
    fn closing(&self, key: &Path) {
        // During thread teardown the list may be gone already; then nothing is
        // recorded, and nothing can call back into the host on this thread.
        T::with(|l| l.closing.borrow_mut().push(key.to_path_buf()));
    }

    fn release(&self, key: &Path, ticket: u64) {
        T::with(|l| {
            let mut c = l.closing.borrow_mut();
            if let Some(i) = c.iter().rposition(|k| k == key) {
                c.remove(i);
            }
        });
        let mut shared = self.lock();
        let ours = matches!(
            shared.slots.get(key),
            Some(Slot::Loaded { ticket: t, .. }) if *t == ticket
        );
        if ours {
            let cleared = shared.slots.remove(key);
            drop(shared);
            self.changed.notify_all();
            drop(cleared);
        }
    }
}

/// Held by a loaded value and dropped after it is torn down: clears the value's
/// slot (if it is still this load's) and wakes anyone waiting to open it again.
pub(crate) struct Lease {
    registry: &'static dyn Slots,
    key: PathBuf,
    ticket: u64,
}

impl Lease {
    /// Marks this thread as tearing the value down, until this `Lease` drops: an
    /// open of the same file from this thread meanwhile is refused as re-entrant.
    pub(crate) fn closing(&self) {
        self.registry.closing(&self.key);
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.registry.release(&self.key, self.ticket);
    }
}

#[cfg(test)]
mod tests;
