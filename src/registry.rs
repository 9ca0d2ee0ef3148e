//! The process-wide registry of opened plugins.
//!
//! Owns [`REGISTRY`]: one slot per canonical path (loading, loaded, or failed),
//! the fast map from exact requested path strings to slots, the map from file
//! identity to slot (hard links), and the [`Condvar`] that threads wait on while
//! another thread loads. The rules:
//!
//! - one thread loads a given plugin; the others wait for its result, and the
//!   registry mutex is never held while loading or running plugin code;
//! - every outcome, including a panic of the loading thread, is published and
//!   wakes every waiter ([`Publisher`]);
//! - the registry holds plugins weakly (strongly only for `keep_loaded`): the last
//!   handle's drop unloads the plugin, and its [`SlotRelease`] then clears the
//!   slot, so a later open loads afresh instead of reviving a plugin whose `fini`
//!   has run;
//! - a failure is remembered until [`forget_failure`].
//!
//! It does not load anything itself (`plugin.rs` does) or resolve paths
//! (`path.rs`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::ThreadId;

use crate::error::{Error, OpenError};
use crate::options::OpenOptions;
use crate::path::{self, FileId};
use crate::plugin::{self, Inner, Plugin};

/// The registry. Lock with [`lock`].
static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(Default::default);
/// Signalled whenever a slot changes state.
static CHANGED: Condvar = Condvar::new();

thread_local! {
    /// The keys of the plugins this thread is unloading right now (their `fini`
    /// may call back into the host).
    static CLOSING: RefCell<Vec<PathBuf>> = const { RefCell::new(Vec::new()) };
}

/// FNV-1a over 8-byte words: short keys, no need for DoS resistance (the host
/// chooses the paths).
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            h = (h ^ u64::from_le_bytes(b)).wrapping_mul(0x0100_0000_01b3);
        }
        for &b in words.remainder() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type Hits = HashMap<Box<[u8]>, Weak<Inner>, BuildHasherDefault<Fnv>>;

thread_local! {
    /// The hottest path of all, a repeated open by the very same absolute path
    /// string in the same thread: its bytes straight to the live plugin. A dead
    /// entry (the plugin was unloaded) never upgrades and is replaced; a live one
    /// is exactly what the registry would return, since a loaded plugin's slot
    /// cannot change while it lives.
    static HITS: RefCell<Hits> = RefCell::new(Hits::default());
}

/// Remembers, for this thread, that the absolute path string `requested` names
/// live plugin `p`.
fn remember_hit(requested: &Path, p: &Plugin) {
    if !requested.is_absolute() {
        return;
    }
    let bytes = requested.as_os_str().as_encoded_bytes();
    let _ = HITS.try_with(|h| {
        let mut h = h.borrow_mut();
        if !h.contains_key(bytes) {
            h.retain(|_, w| w.strong_count() > 0);
        }
        h.insert(bytes.into(), Arc::downgrade(&p.inner));
    });
}

#[derive(Default)]
struct Registry {
    /// One slot per canonical path.
    slots: HashMap<PathBuf, Slot>,
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

enum Slot {
    /// A thread is loading it.
    Loading { ticket: u64, by: ThreadId },
    /// Loaded; `plugin` is dead once the last handle has gone (the slot is then
    /// about to be cleared by the plugin's [`SlotRelease`]).
    Loaded {
        ticket: u64,
        plugin: Weak<Inner>,
        pinned: Option<Arc<Inner>>,
    },
    /// The load failed; remembered until forgotten.
    Failed { ticket: u64, cause: Arc<OpenError> },
}

fn lock() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a slot says to an opener, decided under the lock.
enum Found {
    Plugin(Plugin),
    Failed {
        ticket: u64,
        cause: Arc<OpenError>,
    },
    /// Loading, or loaded but being unloaded: wait for a change.
    Busy {
        ticket: u64,
        by: ThreadId,
    },
    Vacant,
}

impl Registry {
    fn find(&mut self, key: &Path, keep_loaded: bool) -> Found {
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
                plugin,
                pinned,
            }) => match plugin.upgrade() {
                Some(inner) => {
                    if keep_loaded && pinned.is_none() {
                        *pinned = Some(inner.clone());
                    }
                    Found::Plugin(Plugin { inner })
                }
                // Its last handle is being dropped: `fini` may have run already.
                // Wait for the `SlotRelease` to clear the slot.
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
                Some(Slot::Loaded { plugin, .. }) => plugin.strong_count() > 0,
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
        let Registry {
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

/// Opens `requested`: the registry side of [`Plugin::open`].
pub(crate) fn open(requested: &Path, options: &OpenOptions) -> Result<Plugin, Error> {
    let keep = options.keep_loaded;
    // Fastest path: these exact bytes name a live plugin this thread opened
    // before (no lock, no allocation, no file).
    if !options.keep_loaded {
        if let Some(inner) = HITS
            .try_with(|h| {
                h.borrow()
                    .get(requested.as_os_str().as_encoded_bytes())
                    .and_then(Weak::upgrade)
            })
            .ok()
            .flatten()
        {
            return Ok(Plugin { inner });
        }
    }
    // Fast path: this exact absolute string was opened before.
    if requested.is_absolute() {
        let mut reg = lock();
        if let Some(key) = reg.by_request.get(requested).cloned() {
            match reg.find(&key, keep) {
                Found::Plugin(p) => {
                    remember_hit(requested, &p);
                    return Ok(p);
                }
                Found::Failed { cause, .. } => return Err(Error::open(requested, cause, true)),
                // Wait or load through the full path below.
                Found::Busy { .. } | Found::Vacant => {}
            }
        }
    }
    let (canonical, id) = path::canonicalize(requested)
        .map_err(|source| Error::open(requested, Arc::new(OpenError::Path { source }), false))?;
    let mut reg = lock();
    // The load this call waited for, if any: its failure is not a "previous" one.
    let mut waited_for = None;
    let (key, ticket) = loop {
        let key = reg.key_for(&canonical, id);
        match reg.find(&key, keep) {
            Found::Plugin(p) => {
                reg.remember(requested, &key);
                remember_hit(requested, &p);
                return Ok(p);
            }
            Found::Failed { ticket, cause } => {
                reg.remember(requested, &key);
                let previous = waited_for != Some(ticket);
                return Err(Error::open(requested, cause, previous));
            }
            Found::Busy { ticket, by } => {
                let loading_here = by == std::thread::current().id()
                    && matches!(reg.slots.get(&key), Some(Slot::Loading { .. }));
                let closing_here = CLOSING
                    .try_with(|c| c.borrow().contains(&key))
                    .unwrap_or(false);
                if loading_here || closing_here {
                    // The plugin's own init or fini (or a host callback it made)
                    // opens it again: waiting would wait for ourselves.
                    return Err(Error::open(
                        requested,
                        Arc::new(OpenError::Reentrant),
                        false,
                    ));
                }
                waited_for = Some(ticket);
                reg = CHANGED.wait(reg).unwrap_or_else(PoisonError::into_inner);
            }
            Found::Vacant => {
                let ticket = reg.ticket();
                reg.slots.insert(
                    key.clone(),
                    Slot::Loading {
                        ticket,
                        by: std::thread::current().id(),
                    },
                );
                let Registry { slots, by_file, .. } = &mut *reg;
                by_file.retain(|_, k| slots.contains_key(k));
                by_file.insert(id, key.clone());
                reg.remember(requested, &key);
                break (key, ticket);
            }
        }
    };
    drop(reg);

    let publisher = Publisher {
        key: key.clone(),
        ticket,
        published: false,
    };
    let release = SlotRelease {
        key: key.clone(),
        ticket,
    };
    let result = plugin::load(requested, &key, options, release).map_err(Arc::new);
    match publisher.publish(result, keep) {
        Ok(inner) => Ok(Plugin { inner }),
        Err(cause) => Err(Error::open(requested, cause, false)),
    }
}

/// Forgets a remembered failure for `path` (as requested before, or any path to
/// the same file), so that the next open tries again. Returns whether a failure
/// was forgotten; a loaded or loading plugin is left alone.
///
/// ```no_run
/// use staticdl::{forget_failure, Plugin};
/// let first = Plugin::open("/opt/plugins/libneeds_host.so");
/// let again = Plugin::open("/opt/plugins/libneeds_host.so");
/// assert!(again.unwrap_err().is_previous_failure());
/// assert!(forget_failure("/opt/plugins/libneeds_host.so"));
/// # drop(first);
/// ```
pub fn forget_failure(path: impl AsRef<Path>) -> bool {
    let requested = path.as_ref();
    let key = {
        let reg = lock();
        reg.by_request.get(requested).cloned()
    };
    let key = match key {
        Some(k) => k,
        None => match path::canonicalize(requested) {
            Ok((canonical, id)) => lock().key_for(&canonical, id),
            Err(_) => return false,
        },
    };
    let mut reg = lock();
    if matches!(reg.slots.get(&key), Some(Slot::Failed { .. })) {
        reg.slots.remove(&key);
        CHANGED.notify_all();
        true
    } else {
        false
    }
}

/// Publishes the outcome of one load exactly once; if dropped unpublished (the
/// loading thread panicked), publishes [`OpenError::Panicked`]. Either way every
/// waiter is woken.
struct Publisher {
    key: PathBuf,
    ticket: u64,
    published: bool,
}

impl Publisher {
    fn publish(
        mut self,
        result: Result<Arc<Inner>, Arc<OpenError>>,
        keep: bool,
    ) -> Result<Arc<Inner>, Arc<OpenError>> {
        let slot = match &result {
            Ok(inner) => Slot::Loaded {
                ticket: self.ticket,
                plugin: Arc::downgrade(inner),
                pinned: keep.then(|| inner.clone()),
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

    fn set(&self, slot: Slot) {
        let mut reg = lock();
        let ours = matches!(
            reg.slots.get(&self.key),
            Some(Slot::Loading { ticket, .. }) if *ticket == self.ticket
        );
        // Whatever is not kept is dropped after unlocking: dropping a plugin
        // handle may unload it, which takes the lock.
        let leftover = if ours {
            reg.slots.insert(self.key.clone(), slot)
        } else {
            Some(slot)
        };
        drop(reg);
        CHANGED.notify_all();
        drop(leftover);
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        if !self.published {
            self.set(Slot::Failed {
                ticket: self.ticket,
                cause: Arc::new(OpenError::Panicked),
            });
        }
    }
}

/// Held by a loaded plugin and dropped after it is unloaded: clears the plugin's
/// slot (if it is still this load's) and wakes anyone waiting to open it again.
pub(crate) struct SlotRelease {
    key: PathBuf,
    ticket: u64,
}

impl SlotRelease {
    /// Marks this thread as unloading the plugin, until this `SlotRelease` drops.
    pub(crate) fn closing(&self) {
        // During thread teardown the list may be gone already; then nothing is
        // recorded, and nothing can call back into the host on this thread.
        let _ = CLOSING.try_with(|c| c.borrow_mut().push(self.key.clone()));
    }
}

impl Drop for SlotRelease {
    fn drop(&mut self) {
        let _ = CLOSING.try_with(|c| {
            let mut c = c.borrow_mut();
            if let Some(i) = c.iter().rposition(|k| *k == self.key) {
                c.remove(i);
            }
        });
        let mut reg = lock();
        let ours = matches!(
            reg.slots.get(&self.key),
            Some(Slot::Loaded { ticket, .. }) if *ticket == self.ticket
        );
        if ours {
            reg.slots.remove(&self.key);
            drop(reg);
            CHANGED.notify_all();
        }
    }
}
