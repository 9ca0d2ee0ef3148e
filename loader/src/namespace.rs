//! A set of loaded objects with a shared global scope: what `ld.so` keeps per
//! link-map namespace.
//!
//! Owns [`Namespace`]: its state (which objects are loaded, by absolute path, file
//! identity and soname, and the global scope), the lock around it, and the order
//! of events of one load: under the lock, find the object or run the load
//! pipeline (`load`) and commit its group; then, with the lock released, run the
//! group's initialisers, so that an initialiser may itself load, look up and
//! unload objects. Another thread that opens an object whose initialisers are
//! still running waits for them; the initialising thread itself gets the object
//! at once (a constructor that opens its own library). It does not canonicalise
//! paths or remember failures; the facade's registry does.
//!
//! Unsafe code is allowed in this module: it runs a committed group's initialisers,
//! once the groups it uses are initialised.
#![allow(unsafe_code)]

use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicUsize, Ordering};

use foldhash::HashMap;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};

use crate::error::Result;
use crate::file::{FileId, OpenFile};
use crate::group::Group;
use crate::library::Library;
use crate::load::{self, Earlier, Found, Known, Load};
use crate::module::Module;
use crate::options::LoadOptions;

/// A weak reference to module `.1` of a group.
type Handle = (Weak<Group>, usize);

fn upgrade(h: &Handle) -> Option<Earlier> {
    Some((h.0.upgrade()?, h.1))
}

#[derive(Default)]
struct State {
    by_id: HashMap<FileId, Handle>,
    by_name: HashMap<String, Handle>,
    /// Absolute paths objects were loaded from, matched before touching the disk,
    /// keyed by a hash of their bytes ([`path_key`]; the object found is checked
    /// to have that path, a colliding one is simply not found by path).
    by_path: HashMap<u64, Handle>,
    /// Entries (dead ones included) after which the next commit prunes.
    prune_at: usize,
    global: Vec<Handle>,
    /// Groups loaded without running code: listed by [`Namespace::loaded`], never
    /// found by a later load (their IFUNC slots are empty and their initialisers
    /// never ran).
    dry: Vec<Weak<Group>>,
}

impl State {
    fn prune(&mut self) {
        self.by_id.retain(|_, h| h.0.strong_count() > 0);
        self.by_name.retain(|_, h| h.0.strong_count() > 0);
        self.by_path.retain(|_, h| h.0.strong_count() > 0);
        self.global.retain(|h| h.0.strong_count() > 0);
        self.dry.retain(|g| g.strong_count() > 0);
    }

    /// Enter a freshly built group's objects.
    fn commit(&mut self, group: &Arc<Group>, global: bool) {
        // Dead entries are harmless (they no longer upgrade); pruning when the
        // maps have doubled keeps them bounded at an amortised constant cost.
        if self.by_id.len() + self.global.len() + self.dry.len() >= self.prune_at {
            self.prune();
            self.prune_at = 2 * (self.by_id.len() + self.global.len() + self.dry.len()).max(8);
        }
        if !group.run_code {
            self.dry.push(Arc::downgrade(group));
            return;
        }
        for (j, m) in group.modules.iter().enumerate() {
            // Loaded and committed: its reservation may outlive it for the next
            // load of the same file.
            m.mapping.keep_when_closed();
            let h: Handle = (Arc::downgrade(group), j);
            self.by_id.insert(m.id, h.clone());
            if m.on_disk && m.path.is_absolute() {
                self.by_path.insert(path_key(&m.path), h.clone());
            }
            if let Some(s) = &m.soname {
                self.by_name.insert(s.clone(), h.clone());
            }
            if global {
                self.global.push(h);
            }
        }
    }
}

/// The `by_path` key of `path`.
fn path_key(path: &Path) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::default().hash_one(path.as_os_str().as_bytes())
}

impl State {
    /// The object loaded from exactly `path`, if it still lives.
    fn by_path(&self, path: &Path) -> Option<Earlier> {
        let e = self.by_path.get(&path_key(path)).and_then(upgrade)?;
        (e.0.modules[e.1].path == path).then_some(e)
    }
}

impl Known for State {
    fn by_name(&self, name: &str) -> Option<Earlier> {
        self.by_name.get(name).and_then(upgrade)
    }

    fn by_id(&self, id: FileId) -> Option<Earlier> {
        self.by_id.get(&id).and_then(upgrade)
    }

    fn global(&self) -> Vec<Earlier> {
        self.global.iter().filter_map(upgrade).collect()
    }
}

/// A set of loaded objects with a shared global scope: what `ld.so` keeps per
/// link-map namespace.
///
/// A process usually has one, in a `static`. Loading the same file twice (by any
/// path) returns the same object; a dependency already loaded is shared.
///
/// ```no_run
/// use staticdl_loader::{LoadOptions, Namespace};
/// static NS: Namespace = Namespace::new();
/// let lib = NS.load("/opt/plugins/libhello.so", &LoadOptions::new())?;
/// assert!(lib.symbol("hello").is_some());
/// # Ok::<(), staticdl_loader::Error>(())
/// ```
pub struct Namespace {
    state: Mutex<Option<State>>,
    /// Signalled whenever a group's initialisers finish.
    initialised: Condvar,
    /// Threads waiting on `initialised` (changed under the lock): a finished
    /// group wakes nobody, and makes no syscall, when it is zero.
    waiters: AtomicUsize,
}

impl Default for Namespace {
    fn default() -> Self {
        Self::new()
    }
}

type Guard<'a> = MutexGuard<'a, Option<State>>;

impl Namespace {
    /// An empty namespace.
    pub const fn new() -> Self {
        Namespace {
            state: Mutex::new(None),
            initialised: Condvar::new(),
            waiters: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> Guard<'_> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Load the object at `path` with its dependencies, relocate it, and run its
    /// initialisers (unless `options` says not to run code).
    ///
    /// On error nothing of this load stays mapped, and no init function has run.
    /// Initialisers run after the namespace's lock is released: they may load,
    /// look up and unload objects of this namespace. An object whose initialisers
    /// are running on another thread is waited for; on the same thread (an
    /// initialiser that loads its own object) it is returned at once.
    ///
    /// An object already loaded is returned again, as the same object: matched
    /// first by absolute path without touching the disk (so a file replaced at
    /// that path is not read while the old object stays loaded, as with glibc),
    /// then by file identity (device and inode) after opening. An object loaded
    /// without running code (a dry run) is never returned to a later load; a dry
    /// run itself binds against what is loaded, exactly as a real load would.
    ///
    /// ```no_run
    /// use staticdl_loader::{LoadOptions, Namespace};
    /// let ns = Namespace::new();
    /// let opts = LoadOptions::new().search_path("/opt/plugins/lib");
    /// let lib = ns.load("/opt/plugins/libhello.so", &opts)?;
    /// println!("loaded {} at {:?}", lib.path().display(), lib.address_range());
    /// # Ok::<(), staticdl_loader::Error>(())
    /// ```
    pub fn load(&self, path: impl AsRef<Path>, options: &LoadOptions) -> Result<Library> {
        let path = path.as_ref();
        let mut guard = self.lock();
        let state = guard.get_or_insert_with(State::default);
        // Like glibc, an object already loaded from this very (absolute) path is
        // returned without a syscall; a relative path may name another file after
        // a change of directory, so it is always opened.
        if path.is_absolute() {
            if let Some(e) = state.by_path(path) {
                return Ok(self.ready(guard, e));
            }
        }
        let file = OpenFile::open(path)?;
        if let Some(e) = state.by_id(file.id) {
            return Ok(self.ready(guard, e));
        }
        self.load_file(guard, &file, options)
    }

    /// Load the object whose file contents are `bytes`, known as `name` in errors,
    /// `dladdr` and the debugger's list. The bytes are put in an anonymous file
    /// (`memfd_create`), so this works with a read-only or empty filesystem; the
    /// object's dependencies still come from providers and the search path
    /// (`$ORIGIN` entries, which have no directory to expand to, are skipped).
    ///
    /// ```no_run
    /// use staticdl_loader::{LoadOptions, Namespace};
    /// static PLUGIN: &[u8] = &[]; // include_bytes!("libhello.so") in a real host
    /// let lib = Namespace::new().load_bytes("libhello.so", PLUGIN, &LoadOptions::new())?;
    /// assert_eq!(lib.path(), std::path::Path::new("libhello.so"));
    /// # Ok::<(), staticdl_loader::Error>(())
    /// ```
    pub fn load_bytes(&self, name: &str, bytes: &[u8], options: &LoadOptions) -> Result<Library> {
        let file = OpenFile::from_bytes(name, bytes)?;
        let guard = self.lock();
        self.load_file(guard, &file, options)
    }

    /// Load `name` as `dlopen` does: a name with a slash is a path; a bare name is
    /// an object already loaded with that `DT_SONAME`, or a file found through the
    /// search path of `requester` (its `DT_RPATH`, the options' search paths, its
    /// `DT_RUNPATH`, with `$ORIGIN` its directory; then the system directories),
    /// as glibc searches for a `dlopen` called from that object.
    ///
    /// ```no_run
    /// use staticdl_loader::{LoadOptions, Namespace};
    /// let ns = Namespace::new();
    /// let plugin = ns.load("/opt/plugins/libhello.so", &LoadOptions::new())?;
    /// // What `dlopen("libhelper.so")` called from libhello.so finds.
    /// let helper = ns.load_by_name("libhelper.so", Some(&plugin), &LoadOptions::new())?;
    /// # Ok::<(), staticdl_loader::Error>(())
    /// ```
    pub fn load_by_name(
        &self,
        name: &str,
        requester: Option<&Library>,
        options: &LoadOptions,
    ) -> Result<Library> {
        if name.contains('/') {
            return self.load(name, options);
        }
        let mut guard = self.lock();
        let state = guard.get_or_insert_with(State::default);
        let found = load::find(
            name,
            requester.map(Library::module),
            options,
            state,
            &[],
            &|| Ok(()),
        )?;
        match found {
            Found::Loaded(e) => Ok(self.ready(guard, e)),
            Found::Mapped(root) => self.load_mapped(guard, *root, options),
            // Nothing of a load in progress was passed in.
            Found::InLoad(_) => unreachable!("no object of this load to find"),
        }
    }

    /// The object `name` names if it is loaded already, without loading anything
    /// (`dlopen` with `RTLD_NOLOAD`): a name with a slash by its absolute path or
    /// its file's identity, a bare name by `DT_SONAME`. Waits, as [`load`]
    /// does, for an object another thread is still initialising.
    ///
    /// [`load`]: Namespace::load
    ///
    /// ```
    /// let ns = staticdl_loader::Namespace::new();
    /// assert!(ns.loaded_by_name("libnothing.so.1").is_none());
    /// ```
    pub fn loaded_by_name(&self, name: &str) -> Option<Library> {
        let mut guard = self.lock();
        let state = guard.get_or_insert_with(State::default);
        let found = if !name.contains('/') {
            state.by_name(name)
        } else {
            let path = Path::new(name);
            let by_path = path.is_absolute().then(|| state.by_path(path)).flatten();
            by_path.or_else(|| state.by_id(FileId::of(path).ok()?))
        };
        Some(self.ready(guard, found?))
    }

    /// Every object currently loaded in this namespace, in no particular order
    /// (objects loaded without running code included).
    ///
    /// ```
    /// assert!(staticdl_loader::Namespace::new().loaded().is_empty());
    /// ```
    pub fn loaded(&self) -> Vec<Library> {
        let guard = self.lock();
        let Some(s) = guard.as_ref() else {
            return Vec::new();
        };
        let mut out: Vec<Library> = s
            .by_id
            .values()
            .filter_map(upgrade)
            .filter_map(|(g, j)| Library::from_parts(g, j))
            .collect();
        for g in s.dry.iter().filter_map(Weak::upgrade) {
            out.extend((0..g.modules.len()).filter_map(|j| Library::from_parts(g.clone(), j)));
        }
        out
    }

    /// Map `file` and load it (the lock held until its group is committed).
    fn load_file<'a>(
        &'a self,
        guard: Guard<'a>,
        file: &OpenFile,
        options: &LoadOptions,
    ) -> Result<Library> {
        // Create the thread-exit key before any plugin code can create its own, so
        // ours comes first in each destructor round (glibc's order).
        crate::runtime::prepare_thread_exit();
        let root = Module::map(
            file,
            &options.limits,
            options.allow_exec_stack,
            options.reuse_mappings,
        )?;
        self.load_mapped(guard, root, options)
    }

    /// Load the mapped `root`: the pipeline and the commit under the lock, the
    /// initialisers after it.
    fn load_mapped<'a>(
        &'a self,
        mut guard: Guard<'a>,
        root: Module,
        options: &LoadOptions,
    ) -> Result<Library> {
        crate::runtime::prepare_thread_exit();
        let state = guard.get_or_insert_with(State::default);
        // A dry run (no code runs) binds against committed objects, as the real
        // load would, but is never found by a later load itself.
        let group = Load::new(options, state, root).run()?;
        state.commit(&group, options.global);
        let root = Library::from_parts(group.clone(), 0).expect("a group has its root");
        if group.run_code {
            // Wait (lock released while waiting) for objects this group uses that
            // another thread is still initialising: dependencies' initialisers
            // run first.
            while group.external.iter().any(|g| g.busy_elsewhere()) {
                guard = self.wait(guard);
            }
            drop(guard);
            let _done = Done {
                ns: self,
                group: &group,
            };
            // SAFETY: the group is relocated and protected, the groups it uses
            // are initialised (or being initialised by this thread, a recursive
            // load), and `run_code` is the caller's consent to run its code.
            unsafe { group.run_inits(&options.process_args) };
        }
        Ok(root)
    }

    /// `e`, once no other thread is still running its initialisers.
    fn ready<'a>(&'a self, mut guard: Guard<'a>, e: Earlier) -> Library {
        while e.0.busy_elsewhere() {
            guard = self.wait(guard);
        }
        drop(guard);
        Library::from_parts(e.0, e.1).expect("a committed index")
    }

    fn wait<'a>(&'a self, guard: Guard<'a>) -> Guard<'a> {
        // Counted while the lock is held, so a group finishing after this sees it.
        self.waiters.fetch_add(1, Ordering::Relaxed);
        let guard = self
            .initialised
            .wait(guard)
            .unwrap_or_else(|e| e.into_inner());
        self.waiters.fetch_sub(1, Ordering::Relaxed);
        guard
    }
}

/// Marks a group's initialisers finished when dropped (also when an initialiser
/// panicked through Rust code), and wakes every waiter.
struct Done<'a> {
    ns: &'a Namespace,
    group: &'a Arc<Group>,
}

impl Drop for Done<'_> {
    fn drop(&mut self) {
        let guard = self.ns.lock();
        self.group.mark_done();
        let waiting = self.ns.waiters.load(Ordering::Relaxed) > 0;
        drop(guard);
        if waiting {
            self.ns.initialised.notify_all();
        }
    }
}
