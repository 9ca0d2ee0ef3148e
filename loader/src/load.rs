//! One load, from the mapped root object to a relocated, protected group.
//!
//! Owns the pipeline `dependencies → search list → bind → protect → group`:
//! breadth-first `DT_NEEDED` resolution (a host provider first, then an object of
//! this load or of an earlier one by soname, then a file found through the search
//! path and recognised by identity), the root's search list in glibc's order, the
//! lookup scope, relocation of every new object (dependencies first), IFUNC
//! resolution, RELRO, the init and fini lists, and finally the [`Group`] that
//! owns it all, entered in the process-wide object list. Nothing here runs an
//! initialiser or touches the namespace's tables: the namespace commits the group
//! and runs its initialisers after releasing its lock. Dropping a load part-way
//! unmaps everything it mapped.
//!
//! Unsafe code is allowed in this module: it finishes relocation by calling IFUNC
//! resolvers once every object of the load is relocated.
#![allow(unsafe_code)]

use std::path::PathBuf;
use std::sync::Arc;

use crate::arch::Native;
use crate::deps;
use crate::error::{Error, ErrorKind, Result};
use crate::file::{FileId, OpenFile};
use crate::group::{Dep, Group, Parts};
use crate::imports::Import;
use crate::init;
use crate::module::Module;
use crate::options::{LoadOptions, SymbolSource};
use crate::reloc::Relocator;
use crate::runtime::tls;
use crate::scope::{Owner, Scope, Source};

/// An object of an earlier load: its group and its index there.
pub(crate) type Earlier = (Arc<Group>, usize);

/// What a load may find already loaded (the namespace answers, under its lock).
pub(crate) trait Known {
    /// A committed object whose `DT_SONAME` is `name`.
    fn by_name(&self, name: &str) -> Option<Earlier>;
    /// A committed object loaded from the file `id`.
    fn by_id(&self, id: FileId) -> Option<Earlier>;
    /// The global scope (objects loaded with `RTLD_GLOBAL`), in load order.
    fn global(&self) -> Vec<Earlier>;
}

/// Where a `DT_NEEDED` (or bare `dlopen`) name was found.
pub(crate) enum Found {
    /// An object of the load in progress, by index.
    InLoad(usize),
    /// An object loaded before.
    Loaded(Earlier),
    /// A file, now mapped.
    Mapped(Box<Module>),
}

/// Look `name` up as a dependency of `requester` (whose `DT_RPATH`,
/// `DT_RUNPATH` and `$ORIGIN` count), or of nobody: objects of this load and
/// committed ones by soname, then files on the search path, recognised by
/// identity; a new file is mapped once `may_map` agrees. A host-provided library
/// is the caller's business.
pub(crate) fn find(
    name: &str,
    requester: Option<&Module>,
    opts: &LoadOptions,
    known: &dyn Known,
    in_load: &[Module],
    may_map: &dyn Fn() -> Result<()>,
) -> Result<Found> {
    if let Some(j) = in_load
        .iter()
        .position(|m| m.soname.as_deref() == Some(name))
    {
        return Ok(Found::InLoad(j));
    }
    if !name.contains('/') {
        if let Some(e) = known.by_name(name) {
            return Ok(Found::Loaded(e));
        }
    }
    let mut searched = Vec::new();
    for c in deps::candidates(name, requester, opts) {
        let file = match OpenFile::open(&c) {
            Ok(f) => f,
            Err(e) if skippable(&e) => {
                searched.push(c);
                continue;
            }
            Err(e) => return Err(e),
        };
        if let Some(j) = in_load.iter().position(|m| m.id == file.id) {
            return Ok(Found::InLoad(j));
        }
        if let Some(e) = known.by_id(file.id) {
            return Ok(Found::Loaded(e));
        }
        may_map()?;
        match Module::map(&file, &opts.limits, opts.allow_exec_stack) {
            Ok(m) => return Ok(Found::Mapped(Box::new(m))),
            // Like ld.so, pass over a file built for another machine.
            Err(e) if matches!(e.kind(), ErrorKind::WrongArch { .. }) => searched.push(c),
            Err(e) => return Err(e),
        }
    }
    let who: PathBuf = requester.map_or_else(|| PathBuf::from(name), |m| m.path.clone());
    Err(Error::new(
        who,
        ErrorKind::LibraryNotFound {
            name: name.to_string(),
            searched,
        },
    ))
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

/// What binding leaves to the group: the earlier objects bound to, and what the
/// objects' relocated code points at and must outlive it.
struct Bound {
    used: Vec<usize>,
    #[allow(clippy::vec_box)]
    tlsdesc_args: Vec<Box<crate::runtime::TlsIndex>>,
    stubs: Vec<crate::runtime::stubs::StubLease>,
    imports: Vec<Vec<Import>>,
}

/// A node of the root's search list.
#[derive(Clone)]
enum Node {
    New(usize),
    Loaded(usize),
    Provided(Arc<dyn SymbolSource>),
}

/// One load in progress. Dropping it unmaps everything it mapped.
pub(crate) struct Load<'a> {
    opts: &'a LoadOptions,
    known: &'a dyn Known,
    new: Vec<Module>,
    /// `DT_NEEDED` of each new module, resolved (parallel to `new`).
    deps: Vec<Vec<Dep>>,
    /// Objects of earlier loads this load refers to.
    loaded: Vec<Earlier>,
    /// Libraries provided by the host, by `DT_NEEDED` name.
    provided: Vec<(String, Arc<dyn SymbolSource>)>,
}

impl<'a> Load<'a> {
    /// A load of `root` (already mapped) with `opts`, against what `known` has.
    pub fn new(opts: &'a LoadOptions, known: &'a dyn Known, root: Module) -> Self {
        Load {
            opts,
            known,
            new: vec![root],
            deps: Vec::new(),
            loaded: Vec::new(),
            provided: Vec::new(),
        }
    }

    /// Run the pipeline: the relocated, protected group, in the process-wide
    /// object list, its initialisers not run.
    pub fn run(mut self) -> Result<Arc<Group>> {
        self.dependencies()?;
        let list = self.search_list();
        let bound = self.bind(&list)?;
        self.protect()?;
        Ok(self.group(&list, bound))
    }

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
            self.deps.push(deps);
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
        // 2. An object of this load or an earlier one, or a file.
        let count = self.new.len() as u64;
        let limit = self.opts.limits.max_objects;
        let needer = &self.new[by].path;
        let may_map = || {
            if count >= limit {
                return Err(Error::new(
                    needer,
                    ErrorKind::LimitExceeded {
                        what: "objects in one load",
                        value: count + 1,
                        limit,
                    },
                ));
            }
            Ok(())
        };
        match find(
            name,
            Some(&self.new[by]),
            self.opts,
            self.known,
            &self.new,
            &may_map,
        )? {
            Found::InLoad(j) => Ok(Dep::Group(j)),
            Found::Loaded((g, j)) => Ok(Dep::Loaded(g, j)),
            Found::Mapped(m) => {
                self.new.push(*m);
                Ok(Dep::Group(self.new.len() - 1))
            }
        }
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
                Node::New(j) => self.deps[*j].clone(),
                Node::Loaded(k) => {
                    let (g, x) = &self.loaded[*k];
                    g.deps[*x]
                        .iter()
                        .map(|d| match d {
                            Dep::Group(y) => Dep::Loaded(g.clone(), *y),
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
                    Dep::Loaded(g, x) => {
                        let k = self.loaded_index((g, x));
                        if !list.iter().any(|n| matches!(n, Node::Loaded(y) if *y == k)) {
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

    /// The `DT_NEEDED` name a provided library answers, for reports.
    fn provided_name(&self, s: &Arc<dyn SymbolSource>) -> Source {
        let name = self
            .provided
            .iter()
            .find(|(_, x)| Arc::ptr_eq(x, s))
            .map_or_else(String::new, |(n, _)| n.clone());
        Source::Provided(name)
    }

    fn loaded_index(&mut self, e: Earlier) -> usize {
        match self
            .loaded
            .iter()
            .position(|(g, x)| Arc::ptr_eq(g, &e.0) && *x == e.1)
        {
            Some(k) => k,
            None => {
                self.loaded.push(e);
                self.loaded.len() - 1
            }
        }
    }

    /// Relocate every new module against the scope; returns the earlier objects
    /// bound to and the TLS descriptor arguments.
    #[allow(clippy::vec_box)]
    fn bind(&mut self, list: &[Node]) -> Result<Bound> {
        let globals: Vec<usize> = self
            .known
            .global()
            .into_iter()
            .map(|e| self.loaded_index(e))
            .collect();
        let mut scope = Scope::default();
        for s in &self.opts.first {
            scope.push_source(s, Source::Host);
        }
        // The executable's exports, as glibc's global scope has them: after the
        // libraries providers answer, before everything loaded.
        let exe = if self.opts.executable_symbols {
            crate::exe_symbols::executable_symbols()
        } else {
            None
        };
        if let Some(exe) = &exe {
            for n in list {
                if let Node::Provided(s) = n {
                    scope.push_source(s, self.provided_name(s));
                }
            }
            scope.push_source(exe, Source::Executable);
        }
        for &k in &globals {
            let (g, x) = &self.loaded[k];
            scope.push_module(&g.modules[*x], Owner::Loaded(k));
        }
        for n in list {
            match n {
                Node::New(j) => scope.push_module(&self.new[*j], Owner::New(*j)),
                Node::Loaded(k) => {
                    let (g, x) = &self.loaded[*k];
                    scope.push_module(&g.modules[*x], Owner::Loaded(*k))
                }
                Node::Provided(s) => scope.push_source(s, self.provided_name(s)),
            }
        }
        for s in &self.opts.last {
            scope.push_source(s, Source::Host);
        }
        // What only a dynamic linker defines (`__tls_get_addr`, ...), for every
        // object, whatever the host provides.
        scope.push_source(&crate::runtime::RTLD, Source::Loader);
        let mut r = Relocator::new(
            &scope,
            self.opts.trap_unresolved,
            self.opts.record_imports,
            &self.opts.bind_hooks,
        );
        // Dependencies first, as glibc does: the reverse of load order.
        for j in (0..self.new.len()).rev() {
            r.relocate::<Native>(&self.new[j])?;
        }
        let imports: Vec<Vec<Import>> = self.new.iter().map(|m| r.imports_of(m)).collect();
        let used = r.used_loaded.clone();
        let args = std::mem::take(&mut r.tlsdesc_args);
        let statics = std::mem::take(&mut r.static_modules);
        let stubs = std::mem::take(&mut r.stubs);
        // SAFETY: every module of the load is relocated; resolvers were checked
        // to lie in their objects' code; `run_code` is the caller's consent.
        unsafe { r.finish(self.opts.run_code)? };
        if self.opts.run_code {
            self.install_static_tls(&statics)?;
        }
        Ok(Bound {
            used,
            tlsdesc_args: args,
            stubs,
            imports,
        })
    }

    /// Write the (relocated) TLS images of the modules placed in the static
    /// surplus into every thread, before any code of theirs can run.
    fn install_static_tls(&self, modules: &[usize]) -> Result<()> {
        for &id in modules {
            if tls::install_static(id).is_err() {
                let (size, _) = tls::shape(id);
                let who = self
                    .new
                    .iter()
                    .find(|m| m.tls_id == id)
                    .map_or_else(|| self.new[0].path.clone(), |m| m.path.clone());
                return Err(Error::new(
                    who,
                    ErrorKind::TlsUnsupported {
                        what: format!(
                            "the initial-exec TLS block ({size} bytes, with an initialised image) cannot be put in place in the threads that already run: this host does not let the loader reach them (a static musl host does; a glibc host only while it has a single thread)"
                        ),
                    },
                ));
            }
        }
        Ok(())
    }

    /// RELRO read-only, and the init and fini lists read and checked.
    fn protect(&mut self) -> Result<()> {
        for m in &mut self.new {
            if let Some(relro) = m.image.relro {
                m.mapping.protect_relro(&m.path, relro)?;
            }
            init::collect(m)?;
        }
        Ok(())
    }

    /// The group, entered in the process-wide object list (before any
    /// initialiser runs, so code unwinding inside one finds the objects).
    #[allow(clippy::vec_box)]
    fn group(mut self, list: &[Node], bound: Bound) -> Arc<Group> {
        let Bound {
            used,
            tlsdesc_args,
            stubs,
            imports,
        } = bound;
        // Keep alive what the new objects depend on or bound to.
        let mut external: Vec<Arc<Group>> = Vec::new();
        let reached = list.iter().filter_map(|n| match n {
            Node::Loaded(k) => Some(*k),
            _ => None,
        });
        for k in reached.chain(used) {
            let g = &self.loaded[k].0;
            if !external.iter().any(|e| Arc::ptr_eq(e, g)) {
                external.push(g.clone());
            }
        }
        let mut sources: Vec<Arc<dyn SymbolSource>> = self.opts.first.clone();
        sources.extend(self.opts.last.iter().cloned());
        sources.extend(self.provided.iter().map(|(_, s)| s.clone()));
        let group = Arc::new(Group::new(Parts {
            modules: std::mem::take(&mut self.new),
            deps: std::mem::take(&mut self.deps),
            run_code: self.opts.run_code,
            external,
            sources,
            tlsdesc_args,
            stubs,
            imports,
            on_unload: self.opts.on_unload.clone(),
        }));
        crate::runtime::register_group(
            group.key(),
            crate::group::as_owner(&group),
            group.modules.iter().map(|m| m.object_info()).collect(),
        );
        group
    }
}
