//! The set of loaded objects, and one load from start to finish.
//!
//! Owns [`Namespace`] (what is loaded, by file identity and soname, and the global
//! scope), the load itself (breadth-first dependencies, scope, relocation, RELRO,
//! init in dependency order), the load group (the objects one load brought in, which
//! live and die together, so dependency cycles need no special case) and
//! [`Library`], the reference-counted handle. Dropping the last handle of a group
//! runs its fini functions (dependents first) and unmaps it, then releases the
//! groups it depended on. It does not canonicalise paths or remember failures; the
//! facade's registry does.

use std::collections::HashMap;
use std::ffi::c_void;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex, Weak};

use crate::arch::Native;
use crate::deps;
use crate::error::{Error, ErrorKind, Result};
use crate::init;
use crate::module::{Dep, FileId, Module, OpenFile};
use crate::reloc::Relocator;
use crate::scope::{Owner, Scope};
use crate::symbols::{self, SymbolName};
use crate::{LoadOptions, SymbolSource};

/// The objects one load brought in; they are finalised and unmapped together.
pub(crate) struct Group {
    /// In breadth-first load order; index 0 is the object that was asked for.
    modules: Vec<Module>,
    /// Indices into `modules`, dependencies before dependents.
    init_order: Vec<usize>,
    /// Whether init functions ran (so fini functions must run).
    initialized: bool,
    /// Whether code of these objects may run (IFUNC resolvers at lookup).
    run_code: bool,
    /// Objects of earlier loads these depend on or bound symbols to. Dropped after
    /// `modules`, so they are finalised after the objects that use them.
    _external: Vec<Library>,
    /// Host symbol sources bound to, kept alive with the code that uses them.
    _sources: Vec<Arc<dyn SymbolSource>>,
    /// Arguments of the objects' TLS descriptors.
    // Boxed: descriptors point at each argument, so it must never move.
    #[allow(clippy::vec_box)]
    _tlsdesc_args: Vec<Box<crate::runtime::TlsIndex>>,
    /// Told about each object's range after fini, before unmap.
    on_unload: Vec<Arc<crate::UnloadHook>>,
    /// Whether the objects are in the process-wide object list.
    listed: bool,
}

impl Drop for Group {
    fn drop(&mut self) {
        if self.initialized {
            for &i in self.init_order.iter().rev() {
                // SAFETY: the group's init functions ran (`initialized`), and its
                // modules stay mapped until this function returns and the fields drop.
                unsafe { init::run_fini(&self.modules[i]) };
            }
        }
        if self.listed {
            crate::runtime::unregister_group(self as *const Group);
        }
        for m in &self.modules {
            let (start, len) = m.range();
            for hook in &self.on_unload {
                hook(start, len);
            }
        }
    }
}

/// A handle to a loaded object; clones share it, and the last one to go unloads it.
///
/// Obtained from [`Namespace::load`]. Everything it returns borrows from it, except
/// raw addresses, which are only valid while some handle to the object lives.
#[derive(Clone)]
pub struct Library {
    group: Arc<Group>,
    index: usize,
}

impl std::fmt::Debug for Library {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (start, len) = self.module().range();
        f.debug_struct("Library")
            .field("path", &self.module().path)
            .field("soname", &self.module().soname)
            .field("range", &format_args!("{start:#x}..{:#x}", start + len))
            .finish()
    }
}

impl Library {
    pub(crate) fn from_parts(group: Arc<Group>, index: usize) -> Option<Library> {
        (index < group.modules.len()).then_some(Library { group, index })
    }

    fn module(&self) -> &Module {
        &self.group.modules[self.index]
    }

    /// The path the object was loaded from.
    ///
    /// ```no_run
    /// # use staticdl_loader::{Namespace, LoadOptions};
    /// let ns = Namespace::new();
    /// let lib = ns.load("/opt/plugins/libhello.so", &LoadOptions::new())?;
    /// println!("{}", lib.path().display());
    /// # Ok::<(), staticdl_loader::Error>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.module().path
    }

    /// The object's `DT_SONAME`, if it has one.
    pub fn soname(&self) -> Option<&str> {
        self.module().soname.as_deref()
    }

    /// The address range the object is mapped at (start, length in bytes).
    pub fn address_range(&self) -> (usize, usize) {
        self.module().range()
    }

    /// Whether `addr` lies inside this object's mapping.
    pub fn contains(&self, addr: usize) -> bool {
        let (start, len) = self.address_range();
        addr >= start && addr - start < len
    }

    /// Whether `[addr, addr + len)` lies inside one readable `PT_LOAD` segment of
    /// this object, so that reading it cannot fault while the object is loaded.
    /// Gaps between segments, and segments without `PF_R`, are not readable.
    ///
    /// ```no_run
    /// # use staticdl_loader::{Namespace, LoadOptions};
    /// let lib = Namespace::new().load("/opt/plugins/libhello.so", &LoadOptions::new())?;
    /// let p = lib.symbol("hello_table").expect("exported");
    /// assert!(lib.is_readable(p.as_ptr() as usize, 16));
    /// # Ok::<(), staticdl_loader::Error>(())
    /// ```
    pub fn is_readable(&self, addr: usize, len: usize) -> bool {
        let m = self.module();
        let vaddr = addr.wrapping_sub(m.mapping.bias()) as u64;
        let Some(end) = vaddr.checked_add(len as u64) else {
            return false;
        };
        m.image
            .loads
            .iter()
            .any(|s| s.prot.read && vaddr >= s.vaddr && end <= s.end())
    }

    /// The object's `DT_NEEDED` names, in order.
    pub fn needed(&self) -> Vec<String> {
        self.module()
            .needed()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .collect()
    }

    /// The names of the symbols this object defines and exports (hidden versions
    /// left out), in symbol-table order.
    pub fn exports(&self) -> Vec<String> {
        let m = self.module();
        symbols::exported(&m.dynamic)
            .into_iter()
            .filter_map(|i| m.dynamic.symtab.get(i as usize))
            .map(|s| m.name_of(&s))
            .collect()
    }

    /// The address of `name` (or `name@VERSION`) in this object or its dependencies,
    /// searched breadth-first as `dlsym` does with a handle; `None` if nothing
    /// defines it.
    ///
    /// IFUNC definitions are resolved by calling their resolver, unless the object
    /// was loaded without running its code.
    ///
    /// ```no_run
    /// # use staticdl_loader::{Namespace, LoadOptions};
    /// let ns = Namespace::new();
    /// let lib = ns.load("/opt/plugins/libhello.so", &LoadOptions::new())?;
    /// if let Some(addr) = lib.symbol("hello") {
    ///     // SAFETY: the plugin documents `hello` as `int hello(void)`.
    ///     let f: extern "C" fn() -> i32 = unsafe { std::mem::transmute(addr.as_ptr()) };
    ///     println!("{}", f());
    /// }
    /// # Ok::<(), staticdl_loader::Error>(())
    /// ```
    pub fn symbol(&self, name: &str) -> Option<NonNull<c_void>> {
        self.lookup(&SymbolName::new(name))
    }

    /// As [`Library::symbol`], with a name whose hashes are already computed
    /// (typically a `const`), so a repeated lookup does no hashing.
    ///
    /// ```no_run
    /// # use staticdl_loader::{Namespace, LoadOptions, SymbolName};
    /// const HELLO: SymbolName = SymbolName::new("hello");
    /// let lib = Namespace::new().load("/opt/plugins/libhello.so", &LoadOptions::new())?;
    /// let found = lib.lookup(&HELLO).is_some();
    /// # Ok::<(), staticdl_loader::Error>(())
    /// ```
    pub fn lookup(&self, name: &SymbolName<'_>) -> Option<NonNull<c_void>> {
        if let Some(p) = self.lookup_here(name) {
            return Some(p);
        }
        if self.module().deps.is_empty() {
            return None;
        }
        self.lookup_dependencies(name)
    }

    /// The dependencies part of [`Library::lookup`], breadth-first.
    #[cold]
    fn lookup_dependencies(&self, name: &SymbolName<'_>) -> Option<NonNull<c_void>> {
        let mut queue: Vec<Library> = vec![self.clone()];
        let mut seen: Vec<*const Module> = vec![self.module() as *const Module];
        let mut i = 0;
        while i < queue.len() {
            let lib = queue[i].clone();
            i += 1;
            for d in &lib.module().deps {
                let next = match d {
                    Dep::Group(j) => Library {
                        group: lib.group.clone(),
                        index: *j,
                    },
                    Dep::Loaded(l) => l.clone(),
                    Dep::Provided(src) => {
                        if let Some(a) = src.lookup(name.name(), name.version()) {
                            return NonNull::new(a as *mut c_void);
                        }
                        continue;
                    }
                };
                let key = next.module() as *const Module;
                if seen.contains(&key) {
                    continue;
                }
                seen.push(key);
                if let Some(p) = next.lookup_here(name) {
                    return Some(p);
                }
                queue.push(next);
            }
        }
        None
    }

    /// Look `name` up in this object only (no dependencies): the fastest lookup.
    pub fn lookup_here(&self, name: &SymbolName<'_>) -> Option<NonNull<c_void>> {
        let m = self.module();
        let (_, sym) = m.find(name)?;
        let addr = m.address_of(&sym);
        if sym.kind() == crate::elf::raw::STT_TLS {
            // A TLS symbol of an object without PT_TLS, or past its block, names
            // nothing (and module id 0 would abort in `get_addr`).
            let memsz = m.image.tls.map_or(0, |t| t.memsz);
            if m.tls_id == 0 || sym.value >= memsz {
                return None;
            }
            // The calling thread's instance, as `dlsym` returns it.
            let index = crate::runtime::TlsIndex {
                module: m.tls_id,
                offset: sym.value as usize,
            };
            // SAFETY: the module id belongs to this loaded object, held by `self`.
            return NonNull::new(unsafe { crate::runtime::tls::get_addr(&index) }.cast());
        }
        if m.is_ifunc(&sym) {
            if !self.group.run_code || !m.is_code(addr) {
                return None;
            }
            // SAFETY: the resolver lies in this object's code (checked just above),
            // which was relocated, initialised and allowed to run.
            let f: extern "C" fn() -> usize = unsafe { std::mem::transmute(addr) };
            return NonNull::new(f() as *mut c_void);
        }
        NonNull::new(addr as *mut c_void)
    }

    /// Whether two handles refer to the same loaded object.
    pub fn same_object(&self, other: &Library) -> bool {
        std::ptr::eq(self.module(), other.module())
    }

    fn weak(&self) -> Handle {
        (Arc::downgrade(&self.group), self.index)
    }
}

type Handle = (Weak<Group>, usize);

fn upgrade(h: &Handle) -> Option<Library> {
    Some(Library {
        group: h.0.upgrade()?,
        index: h.1,
    })
}

#[derive(Default)]
struct State {
    by_id: HashMap<FileId, Handle>,
    by_name: HashMap<String, Handle>,
    /// Absolute paths objects were loaded from, matched before touching the disk.
    by_path: HashMap<std::path::PathBuf, Handle>,
    global: Vec<Handle>,
}

impl State {
    fn prune(&mut self) {
        self.by_id.retain(|_, h| h.0.strong_count() > 0);
        self.by_name.retain(|_, h| h.0.strong_count() > 0);
        self.by_path.retain(|_, h| h.0.strong_count() > 0);
        self.global.retain(|h| h.0.strong_count() > 0);
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
}

impl Default for Namespace {
    fn default() -> Self {
        Self::new()
    }
}

impl Namespace {
    /// An empty namespace.
    pub const fn new() -> Self {
        Namespace {
            state: Mutex::new(None),
        }
    }

    /// Load the object at `path` with its dependencies, relocate it, and run its
    /// initialisers (unless `options` says not to run code).
    ///
    /// On error nothing of this load stays mapped, and no init function has run.
    /// Init functions run with the namespace locked: an initialiser must not load
    /// into the same namespace.
    ///
    /// An object already loaded is returned again, as the same object: matched
    /// first by absolute path without touching the disk (so a file replaced at
    /// that path is not read while the old object stays loaded, as with glibc),
    /// then by file identity (device and inode) after opening.
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
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let state = guard.get_or_insert_with(State::default);
        // Like glibc, an object already loaded from this very (absolute) path is
        // returned without a syscall; a relative path may name another file after
        // a change of directory, so it is always opened.
        if path.is_absolute() {
            if let Some(lib) = state.by_path.get(path).and_then(upgrade) {
                return Ok(lib);
            }
        }
        let file = OpenFile::open(path)?;
        if let Some(lib) = state.by_id.get(&file.id).and_then(upgrade) {
            return Ok(lib);
        }
        // Create the thread-exit key before any plugin code can create its own, so
        // ours comes first in each destructor round (glibc's order).
        crate::runtime::prepare_thread_exit();
        let root = Module::map(&file, &options.limits, options.allow_exec_stack)?;
        drop(file);
        let mut load = Load {
            opts: options,
            state,
            new: vec![root],
            loaded: Vec::new(),
            provided: Vec::new(),
        };
        load.dependencies()?;
        load.finish()
    }

    /// Every object currently loaded in this namespace, in no particular order.
    pub fn loaded(&self) -> Vec<Library> {
        let guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_ref() {
            Some(s) => s.by_id.values().filter_map(upgrade).collect(),
            None => Vec::new(),
        }
    }
}

/// Scope node during the breadth-first walk.
#[derive(Clone)]
enum Node {
    New(usize),
    Loaded(usize),
    Provided(Arc<dyn SymbolSource>),
}

/// One load in progress. Dropping it unmaps everything it mapped.
struct Load<'o, 's> {
    opts: &'o LoadOptions,
    state: &'s mut State,
    new: Vec<Module>,
    /// Objects of earlier loads this load refers to.
    loaded: Vec<Library>,
    /// Libraries provided by the host, by `DT_NEEDED` name.
    provided: Vec<(String, Arc<dyn SymbolSource>)>,
}

impl Load<'_, '_> {
    /// Resolve `DT_NEEDED` of every new module, breadth-first.
    fn dependencies(&mut self) -> Result<()> {
        let mut i = 0;
        while i < self.new.len() {
            let names: Vec<String> = self.new[i]
                .needed()
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .collect();
            let mut deps = Vec::with_capacity(names.len());
            for name in &names {
                deps.push(self.needed(name, i)?);
            }
            self.new[i].deps = deps;
            i += 1;
        }
        Ok(())
    }

    fn needed(&mut self, name: &str, by: usize) -> Result<Dep> {
        // 1. A library the host provides.
        if let Some((_, s)) = self.provided.iter().find(|(n, _)| n == name) {
            return Ok(Dep::Provided(s.clone()));
        }
        for p in &self.opts.providers {
            if let Some(s) = p.provide(name) {
                self.provided.push((name.to_string(), s.clone()));
                return Ok(Dep::Provided(s));
            }
        }
        // 2. An object of this load, or loaded before, by name.
        if let Some(j) = self
            .new
            .iter()
            .position(|m| m.soname.as_deref() == Some(name))
        {
            return Ok(Dep::Group(j));
        }
        if let Some(lib) = self.state.by_name.get(name).and_then(upgrade) {
            return Ok(Dep::Loaded(lib));
        }
        // 3. A file.
        let candidates = deps::candidates(name, &self.new[by], self.opts);
        let mut searched = Vec::new();
        for c in candidates {
            let file = match OpenFile::open(&c) {
                Ok(f) => f,
                Err(e) if skippable(&e) => {
                    searched.push(c);
                    continue;
                }
                Err(e) => return Err(e),
            };
            if let Some(j) = self.new.iter().position(|m| m.id == file.id) {
                return Ok(Dep::Group(j));
            }
            if let Some(lib) = self.state.by_id.get(&file.id).and_then(upgrade) {
                return Ok(Dep::Loaded(lib));
            }
            let limits = &self.opts.limits;
            if self.new.len() as u64 >= limits.max_objects {
                return Err(Error::new(
                    self.new[by].path.clone(),
                    ErrorKind::LimitExceeded {
                        what: "objects in one load",
                        value: self.new.len() as u64 + 1,
                        limit: limits.max_objects,
                    },
                ));
            }
            match Module::map(&file, limits, self.opts.allow_exec_stack) {
                Ok(m) => {
                    self.new.push(m);
                    return Ok(Dep::Group(self.new.len() - 1));
                }
                // Like ld.so, skip a file built for another machine and keep looking.
                Err(e) if matches!(e.kind(), ErrorKind::WrongArch { .. }) => searched.push(c),
                Err(e) => return Err(e),
            }
        }
        Err(Error::new(
            self.new[by].path.clone(),
            ErrorKind::LibraryNotFound {
                name: name.to_string(),
                searched,
            },
        ))
    }

    /// The root's breadth-first search list (glibc's `l_searchlist`), with the
    /// earlier objects it reaches added to `loaded`.
    fn search_list(&mut self) -> Vec<Node> {
        let mut list = vec![Node::New(0)];
        let mut seen_new = vec![false; self.new.len()];
        seen_new[0] = true;
        let mut i = 0;
        while i < list.len() {
            let deps: Vec<Dep> = match &list[i] {
                Node::New(j) => self.new[*j].deps.clone(),
                Node::Loaded(k) => {
                    let lib = &self.loaded[*k];
                    lib.module()
                        .deps
                        .iter()
                        .map(|d| match d {
                            Dep::Group(x) => Dep::Loaded(Library {
                                group: lib.group.clone(),
                                index: *x,
                            }),
                            other => other.clone(),
                        })
                        .collect()
                }
                Node::Provided(_) => Vec::new(),
            };
            i += 1;
            for d in deps {
                match d {
                    Dep::Group(j) => {
                        if !seen_new[j] {
                            seen_new[j] = true;
                            list.push(Node::New(j));
                        }
                    }
                    Dep::Loaded(lib) => {
                        let k = self.loaded_index(lib);
                        if !list.iter().any(|n| matches!(n, Node::Loaded(x) if *x == k)) {
                            list.push(Node::Loaded(k));
                        }
                    }
                    Dep::Provided(s) => {
                        if !list
                            .iter()
                            .any(|n| matches!(n, Node::Provided(x) if Arc::ptr_eq(x, &s)))
                        {
                            list.push(Node::Provided(s));
                        }
                    }
                }
            }
        }
        list
    }

    fn loaded_index(&mut self, lib: Library) -> usize {
        match self.loaded.iter().position(|l| l.same_object(&lib)) {
            Some(k) => k,
            None => {
                self.loaded.push(lib);
                self.loaded.len() - 1
            }
        }
    }

    /// Relocate, protect, initialise and register the new objects.
    fn finish(mut self) -> Result<Library> {
        let list = self.search_list();
        let globals: Vec<usize> = {
            let libs: Vec<Library> = self.state.global.iter().filter_map(upgrade).collect();
            libs.into_iter().map(|l| self.loaded_index(l)).collect()
        };
        let run_code = self.opts.run_code;
        let used_loaded = {
            let mut scope = Scope::default();
            for s in &self.opts.first {
                scope.push_source(s);
            }
            for &k in &globals {
                scope.push_module(self.loaded[k].module(), Owner::Loaded(k));
            }
            for n in &list {
                match n {
                    Node::New(j) => scope.push_module(&self.new[*j], Owner::New(*j)),
                    Node::Loaded(k) => {
                        scope.push_module(self.loaded[*k].module(), Owner::Loaded(*k))
                    }
                    Node::Provided(s) => scope.push_source(s),
                }
            }
            for s in &self.opts.last {
                scope.push_source(s);
            }
            let mut r = Relocator::new(&scope);
            // Dependencies first, as glibc does: the reverse of load order.
            for j in (0..self.new.len()).rev() {
                r.relocate::<Native>(&self.new[j], j)?;
            }
            let used = r.used_loaded.clone();
            let args = std::mem::take(&mut r.tlsdesc_args);
            // SAFETY: every module of the load is relocated; resolvers were checked
            // to lie in their objects' code; `run_code` is the caller's consent.
            unsafe { r.finish(&self.new[0].path, run_code)? };
            (used, args)
        };
        let (used_loaded, tlsdesc_args) = used_loaded;
        for m in &mut self.new {
            if let Some(relro) = m.image.relro {
                m.mapping.protect_relro(&m.path, relro)?;
            }
            init::collect(m)?;
        }
        let init_order = init_order(&self.new);
        // Keep alive what the new objects depend on or bound to.
        let mut external: Vec<Library> = Vec::new();
        for n in &list {
            if let Node::Loaded(k) = n {
                external.push(self.loaded[*k].clone());
            }
        }
        for k in used_loaded {
            if !external.iter().any(|l| l.same_object(&self.loaded[k])) {
                external.push(self.loaded[k].clone());
            }
        }
        let mut sources: Vec<Arc<dyn SymbolSource>> = self.opts.first.clone();
        sources.extend(self.opts.last.iter().cloned());
        sources.extend(self.provided.iter().map(|(_, s)| s.clone()));
        let group = Arc::new(Group {
            modules: std::mem::take(&mut self.new),
            init_order,
            initialized: run_code,
            run_code,
            _external: external,
            _sources: sources,
            _tlsdesc_args: tlsdesc_args,
            on_unload: self.opts.on_unload.clone(),
            listed: true,
        });
        // Listed before init runs, so code unwinding inside init finds the objects.
        crate::runtime::register_group(
            &group,
            group.modules.iter().map(|m| m.object_info()).collect(),
        );
        let state = &mut *self.state;
        state.prune();
        for (j, m) in group.modules.iter().enumerate() {
            let h: Handle = (Arc::downgrade(&group), j);
            state.by_id.insert(m.id, h.clone());
            if m.path.is_absolute() {
                state.by_path.insert(m.path.clone(), h.clone());
            }
            if let Some(s) = &m.soname {
                state.by_name.insert(s.clone(), h.clone());
            }
            if self.opts.global {
                state.global.push(h);
            }
        }
        if run_code {
            for &j in &group.init_order {
                // SAFETY: all modules are relocated and protected, and `init_order`
                // puts dependencies first; the caller allowed running code.
                unsafe { init::run_init(&group.modules[j], &self.opts.process_args) };
            }
        }
        let root = Library { group, index: 0 };
        let _ = root.weak();
        Ok(root)
    }
}

/// Whether a search candidate that failed to open is passed over (as ld.so does):
/// missing, unreadable, under a non-directory, or not a regular file.
fn skippable(e: &Error) -> bool {
    match e.kind() {
        ErrorKind::Io(source) => matches!(
            source.kind(),
            std::io::ErrorKind::NotFound
                | std::io::ErrorKind::PermissionDenied
                | std::io::ErrorKind::NotADirectory
        ),
        ErrorKind::NotRegularFile { .. } => true,
        _ => false,
    }
}

/// Dependencies before dependents: depth-first post-order from the root over the
/// new objects (a cycle is broken where it is met).
fn init_order(new: &[Module]) -> Vec<usize> {
    fn visit(j: usize, new: &[Module], state: &mut [u8], out: &mut Vec<usize>) {
        if state[j] != 0 {
            return;
        }
        state[j] = 1;
        for d in &new[j].deps {
            if let Dep::Group(x) = d {
                visit(*x, new, state, out);
            }
        }
        state[j] = 2;
        out.push(j);
    }
    let mut state = vec![0u8; new.len()];
    let mut out = Vec::with_capacity(new.len());
    for j in 0..new.len() {
        visit(j, new, &mut state, &mut out);
    }
    out
}
