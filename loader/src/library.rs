//! The handle to a loaded object, and what can be asked of it.
//!
//! Owns [`Library`]: a reference-counted handle to one module of a load group
//! (the last handle to a group unloads it), its facts (path, soname, range,
//! file identity, `DT_NEEDED`, exports) and its lookups: in the object alone, and
//! breadth-first through its dependencies as `dlsym` with a handle searches. It
//! does not load or unload anything itself (`namespace`, `group`).
//!
//! Unsafe code is allowed in this module: a lookup may call an IFUNC resolver of a
//! loaded, initialised object (checked to lie in its code) and ask the TLS runtime for
//! the calling thread's block of a module the handle keeps loaded.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::Arc;

use crate::file::FileId;
use crate::group::{Dep, Group};
use crate::module::Module;
use crate::symbols::{self, SymbolName};

/// What answered one `DT_NEEDED` name of an object ([`Library::dependencies`]).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Dependency {
    /// A loaded object.
    Object(Library),
    /// A library the host provides (a [`LibraryProvider`](crate::LibraryProvider)).
    Provided,
}

/// A handle to a loaded object; clones share it, and the last one to go unloads it.
///
/// Obtained from [`Namespace::load`](crate::Namespace::load). Everything it returns borrows from it, except
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

    pub(crate) fn module(&self) -> &Module {
        &self.group.modules[self.index]
    }

    /// The loaded object whose mapping contains `addr`, from any namespace
    /// (what `dladdr` and unwinders ask).
    ///
    /// ```
    /// assert!(staticdl_loader::Library::containing(0).is_none());
    /// ```
    pub fn containing(addr: usize) -> Option<Library> {
        let (owner, index) = crate::runtime::owner_containing(addr)?;
        let group = owner.downcast::<Group>().ok()?;
        Library::from_parts(group, index)
    }

    /// The identity of the file the object was loaded from (for an object loaded
    /// from memory, of the anonymous file that held its bytes).
    ///
    /// ```no_run
    /// # use staticdl_loader::{Namespace, LoadOptions, FileId};
    /// let lib = Namespace::new().load("/opt/plugins/libhello.so", &LoadOptions::new())?;
    /// assert_eq!(lib.file_id(), FileId::of("/opt/plugins/libhello.so").unwrap());
    /// # Ok::<(), staticdl_loader::Error>(())
    /// ```
    pub fn file_id(&self) -> FileId {
        self.module().id
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
        m.view().readable(vaddr, len as u64)
    }

    /// Where each of the object's imports was bound, in the order they were
    /// first bound; empty unless it was loaded with
    /// [`LoadOptions::record_imports`](crate::LoadOptions::record_imports).
    ///
    /// ```no_run
    /// # use staticdl_loader::{Namespace, LoadOptions};
    /// let opts = LoadOptions::new().run_code(false).record_imports(true);
    /// let lib = Namespace::new().load("/lib/x86_64-linux-gnu/libz.so.1", &opts)?;
    /// for import in lib.imports() {
    ///     println!("{import}");
    /// }
    /// # Ok::<(), staticdl_loader::Error>(())
    /// ```
    pub fn imports(&self) -> &[crate::Import] {
        self.group
            .imports
            .get(self.index)
            .map_or(&[][..], Vec::as_slice)
    }

    /// Offer each function binding this object has (its PLT slots, GOT entries
    /// and 64-bit pointers against a symbol) to `hook`, with the address the slot
    /// holds now, and write whatever it answers instead: how an interceptor
    /// attaches to, or detaches from, an object already loaded. RELRO is made
    /// writable for the writes and read-only again after. Returns how many slots
    /// changed.
    ///
    /// Each slot is one aligned 8-byte store, so a thread calling through it
    /// meanwhile reaches either the old or the new address.
    ///
    /// ```no_run
    /// # use staticdl_loader::{Namespace, LoadOptions, BindRequest};
    /// extern "C" fn my_time(_: *mut i64) -> i64 { 1234567890 }
    /// let lib = Namespace::new().load("/opt/plugins/libclock.so", &LoadOptions::new())?;
    /// let n = lib.rebind(|b: &BindRequest<'_>| {
    ///     (b.symbol == b"time").then_some(my_time as extern "C" fn(*mut i64) -> i64 as usize)
    /// })?;
    /// # Ok::<(), staticdl_loader::Error>(())
    /// ```
    pub fn rebind(
        &self,
        hook: impl Fn(&crate::BindRequest<'_>) -> Option<usize>,
    ) -> crate::Result<usize> {
        crate::reloc::rebind::<crate::arch::Native>(self.module(), &hook)
    }

    /// What answered each of the object's `DT_NEEDED` names when it was loaded,
    /// in order: an object (of the same load, or loaded before), or a library the
    /// host provides.
    ///
    /// ```no_run
    /// # use staticdl_loader::{Dependency, Namespace, LoadOptions};
    /// let lib = Namespace::new().load("/opt/plugins/libhello.so", &LoadOptions::new())?;
    /// for (name, dep) in lib.dependencies() {
    ///     match dep {
    ///         Dependency::Object(d) => println!("{name}: {}", d.path().display()),
    ///         _ => println!("{name}: provided by the host"),
    ///     }
    /// }
    /// # Ok::<(), staticdl_loader::Error>(())
    /// ```
    pub fn dependencies(&self) -> Vec<(String, Dependency)> {
        let deps = &self.group.deps[self.index];
        self.needed()
            .into_iter()
            .zip(deps)
            .map(|(name, d)| {
                let dep = match d {
                    Dep::Group(j) => Dependency::Object(Library {
                        group: self.group.clone(),
                        index: *j,
                    }),
                    Dep::Loaded(g, j) => Dependency::Object(Library {
                        group: g.clone(),
                        index: *j,
                    }),
                    Dep::Provided(_) => Dependency::Provided,
                };
                (name, dep)
            })
            .collect()
    }

    /// Whether the object was loaded without running code
    /// ([`LoadOptions::run_code`](crate::LoadOptions::run_code) false): a dry run,
    /// which no later load finds.
    ///
    /// ```no_run
    /// # use staticdl_loader::{Namespace, LoadOptions};
    /// let dry = Namespace::new().load("/opt/plugins/libhello.so", &LoadOptions::new().run_code(false))?;
    /// assert!(dry.is_dry_run());
    /// # Ok::<(), staticdl_loader::Error>(())
    /// ```
    pub fn is_dry_run(&self) -> bool {
        !self.group.run_code
    }

    /// Whether two handles name objects mapped by the same load (the root and
    /// the dependencies that load mapped, not those it found loaded already).
    ///
    /// ```no_run
    /// # use staticdl_loader::{Dependency, Namespace, LoadOptions};
    /// let lib = Namespace::new().load("/opt/plugins/libhello.so", &LoadOptions::new())?;
    /// assert!(lib.same_load(&lib));
    /// # Ok::<(), staticdl_loader::Error>(())
    /// ```
    pub fn same_load(&self, other: &Library) -> bool {
        Arc::ptr_eq(&self.group, &other.group)
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
        self.lookup(&SymbolName::parse(name.as_bytes()))
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
        if self.group.deps[self.index].is_empty() {
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
            for d in &lib.group.deps[lib.index] {
                let next = match d {
                    Dep::Group(j) => Library {
                        group: lib.group.clone(),
                        index: *j,
                    },
                    Dep::Loaded(g, j) => Library {
                        group: g.clone(),
                        index: *j,
                    },
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
}
