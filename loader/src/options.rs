//! What a load is asked to do: the options, the limits, and the host's sources of
//! symbols and libraries.
//!
//! Owns [`LoadOptions`] (search paths, policy, host symbols, providers, process
//! arguments, unload hooks), [`Limits`] against hostile input, [`ProcessArgs`],
//! and the two traits through which a host contributes: [`SymbolSource`] and
//! [`LibraryProvider`]. Plain data: it does not load anything.

use std::path::PathBuf;
use std::sync::Arc;

/// A source of symbols outside any loaded object: the host binary's exports, or a
/// library the host provides in place of a file.
///
/// Closures `Fn(&[u8], Option<&[u8]>) -> Option<usize>` implement it.
///
/// ```
/// use staticdl_loader::SymbolSource;
/// extern "C" fn host_add(a: i32, b: i32) -> i32 { a + b }
/// let src = |name: &[u8], _v: Option<&[u8]>| (name == b"host_add").then_some(host_add as usize);
/// assert!(src.lookup(b"host_add", None).is_some());
/// assert!(src.lookup(b"other", None).is_none());
/// ```
pub trait SymbolSource: Send + Sync {
    /// The address of `name`, at `version` when the importer asks for one (for
    /// example `GLIBC_2.14`); `None` if this source does not define it.
    fn lookup(&self, name: &[u8], version: Option<&[u8]>) -> Option<usize>;

    /// [`SymbolSource::lookup`] of a name whose hashes are already computed
    /// ([`SymbolName::gnu_hash`](crate::SymbolName::gnu_hash)): what the loader
    /// calls while binding. A source with a hash-indexed table overrides it to
    /// skip hashing; the default asks [`SymbolSource::lookup`].
    fn lookup_name(&self, name: &crate::SymbolName<'_>) -> Option<usize> {
        self.lookup(name.name(), name.version())
    }
}

impl<F> SymbolSource for F
where
    F: Fn(&[u8], Option<&[u8]>) -> Option<usize> + Send + Sync,
{
    fn lookup(&self, name: &[u8], version: Option<&[u8]>) -> Option<usize> {
        self(name, version)
    }
}

/// Answers `DT_NEEDED` names with libraries the host provides itself, before any
/// file is looked for.
///
/// ```
/// use std::sync::Arc;
/// use staticdl_loader::{LibraryProvider, SymbolSource};
/// struct Libm;
/// impl LibraryProvider for Libm {
///     fn provide(&self, name: &str) -> Option<Arc<dyn SymbolSource>> {
///         (name == "libm.so.6").then(|| {
///             Arc::new(|n: &[u8], _: Option<&[u8]>| None::<usize>) as Arc<dyn SymbolSource>
///         })
///     }
/// }
/// assert!(Libm.provide("libm.so.6").is_some());
/// ```
pub trait LibraryProvider: Send + Sync {
    /// The library to use for `DT_NEEDED` `name`, or `None` to look elsewhere.
    fn provide(&self, name: &str) -> Option<Arc<dyn SymbolSource>>;
}

/// Limits that keep a hostile object from making the loader map or allocate
/// without bound. Every one is checked before the corresponding work is done.
///
/// ```
/// let limits = staticdl_loader::Limits { max_objects: 16, ..Default::default() };
/// assert_eq!(limits.max_objects, 16);
/// ```
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest address span one object may map (default 4 GiB).
    pub max_image_size: u64,
    /// Most program headers an object may have (default 256).
    pub max_program_headers: u64,
    /// Most `PT_LOAD` segments (default 64).
    pub max_load_segments: u64,
    /// Most `DT_NEEDED` entries in one object (default 1,024).
    pub max_needed: u64,
    /// Most objects one load may bring in (default 1,024).
    pub max_objects: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_image_size: 4 << 30,
            max_program_headers: 256,
            max_load_segments: 64,
            max_needed: 1024,
            max_objects: 1024,
        }
    }
}

/// The process arguments passed to init functions, as glibc passes them:
/// `(argc, argv, envp)`. Empty (0 and null pointers) by default.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessArgs {
    /// `argc`.
    pub argc: i32,
    /// `argv`, a null-terminated array of C strings, as an address.
    pub argv: usize,
    /// `envp`, a null-terminated array of C strings, as an address.
    pub envp: usize,
}

/// How to load an object: search paths, host symbols, and policy.
///
/// ```
/// use staticdl_loader::LoadOptions;
/// let opts = LoadOptions::new()
///     .search_path("/opt/app/lib")
///     .system_dirs(false)
///     .global(true);
/// assert_eq!(opts.search_paths.len(), 1);
/// ```
#[derive(Clone)]
pub struct LoadOptions {
    /// Directories searched for dependencies, after `DT_RPATH` and before
    /// `DT_RUNPATH` (where `LD_LIBRARY_PATH` sits for glibc).
    pub search_paths: Vec<PathBuf>,
    /// Whether [`SYSTEM_DIRS`](crate::SYSTEM_DIRS) are searched last (default true).
    pub system_dirs: bool,
    /// Allow objects that ask for an executable stack (default false). The loader
    /// cannot make existing thread stacks executable; allowing it only loads them.
    pub allow_exec_stack: bool,
    /// Whether the loaded objects join the namespace's global scope, so later loads
    /// resolve against them (`RTLD_GLOBAL`; default false, `RTLD_LOCAL`).
    pub global: bool,
    /// Whether any code of the object may run: IFUNC resolvers and init functions
    /// (default true). With false, the object is mapped and relocated only (IFUNC
    /// slots stay zero), which is how untrusted files are checked.
    pub run_code: bool,
    /// Whether a function import that nothing defines is bound to a trap that,
    /// if called, reports `staticdl: <object>: call of unresolved function
    /// <name>` and aborts, instead of failing the load (glibc's `RTLD_LAZY`
    /// analogue; default false: the load fails naming every missing import).
    /// Data imports nothing defines still fail the load.
    pub trap_unresolved: bool,
    /// Limits against hostile input.
    pub limits: Limits,
    /// Whether the executable's own exported symbols (its `.dynsym`: what a
    /// host linked with `-rdynamic` or `--dynamic-list` exports) are in scope, as
    /// glibc's global scope has them: after the libraries host providers answer
    /// (so the C library's glibc names keep their provider) and before the
    /// object and its dependencies (default false).
    pub executable_symbols: bool,
    /// Whether each object records where every one of its imports was bound
    /// ([`Library::imports`](crate::Library::imports); default false).
    pub record_imports: bool,
    /// Functions that see each function binding before it is written and may
    /// replace its address (interceptors); see [`BindHook`](crate::BindHook).
    pub bind_hooks: Vec<Arc<crate::BindHook>>,
    /// Host symbols looked up before anything loaded.
    pub first: Vec<Arc<dyn SymbolSource>>,
    /// Host symbols looked up after everything loaded.
    pub last: Vec<Arc<dyn SymbolSource>>,
    /// Libraries the host provides for `DT_NEEDED` names.
    pub providers: Vec<Arc<dyn LibraryProvider>>,
    /// Arguments for init functions.
    pub process_args: ProcessArgs,
    /// Called for each object of the load when it is unloaded, after its fini
    /// functions ran and before it is unmapped, with its address range.
    pub on_unload: Vec<Arc<UnloadHook>>,
    /// Whether the objects this load maps from disk keep their reservation when
    /// closed, advised back to the file's contents, for the next load of the same
    /// file (default false: closing unmaps, as glibc does). A reused load skips
    /// the mapping, most protection changes and the unmap: about half of a small
    /// object's kernel time, for hosts that open and close the same plugins
    /// again and again. What it costs: at most
    /// [`KEPT_CLOSED`](crate::KEPT_CLOSED) closed objects stay reserved (not
    /// resident) and keep their file referenced (an unmount waits, a deleted
    /// file's blocks stay) until
    /// [`release_closed_mappings`](crate::release_closed_mappings), a load of the same path finding another
    /// file, or newer closed objects push them out; a stale pointer into a closed
    /// object reads its file instead of faulting; protections the object's own
    /// code changed survive into its next load. Debuggers see the unload as
    /// usual. Only loads that went through and ran code are kept.
    pub reuse_mappings: bool,
}

/// A function told about an object's address range just before it is unmapped.
pub type UnloadHook = dyn Fn(usize, usize) + Send + Sync;

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            search_paths: Vec::new(),
            system_dirs: true,
            allow_exec_stack: false,
            global: false,
            run_code: true,
            trap_unresolved: false,
            executable_symbols: false,
            record_imports: false,
            bind_hooks: Vec::new(),
            limits: Limits::default(),
            first: Vec::new(),
            last: Vec::new(),
            providers: Vec::new(),
            process_args: ProcessArgs::default(),
            on_unload: Vec::new(),
            reuse_mappings: false,
        }
    }
}

impl LoadOptions {
    /// The defaults: system directories searched, no executable stacks, local scope,
    /// code runs.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a directory to search for dependencies.
    pub fn search_path(mut self, dir: impl Into<PathBuf>) -> Self {
        self.search_paths.push(dir.into());
        self
    }

    /// Whether to search [`SYSTEM_DIRS`](crate::SYSTEM_DIRS).
    pub fn system_dirs(mut self, yes: bool) -> Self {
        self.system_dirs = yes;
        self
    }

    /// Whether to load objects that ask for an executable stack.
    pub fn allow_exec_stack(mut self, yes: bool) -> Self {
        self.allow_exec_stack = yes;
        self
    }

    /// Whether the objects join the global scope (`RTLD_GLOBAL`).
    pub fn global(mut self, yes: bool) -> Self {
        self.global = yes;
        self
    }

    /// Whether code of the object may run (init functions, IFUNC resolvers).
    pub fn run_code(mut self, yes: bool) -> Self {
        self.run_code = yes;
        self
    }

    /// Whether calls of function imports nothing defines trap (report and abort)
    /// instead of failing the load; see [`LoadOptions::trap_unresolved`].
    ///
    /// ```
    /// let opts = staticdl_loader::LoadOptions::new().trap_unresolved(true);
    /// assert!(opts.trap_unresolved);
    /// ```
    pub fn trap_unresolved(mut self, yes: bool) -> Self {
        self.trap_unresolved = yes;
        self
    }

    /// Whether closed objects keep their reservation for the next load of the
    /// same file; see [`LoadOptions::reuse_mappings`].
    ///
    /// ```
    /// let opts = staticdl_loader::LoadOptions::new().reuse_mappings(true);
    /// assert!(opts.reuse_mappings);
    /// ```
    pub fn reuse_mappings(mut self, yes: bool) -> Self {
        self.reuse_mappings = yes;
        self
    }

    /// Whether the executable's exported symbols are in scope; see
    /// [`LoadOptions::executable_symbols`].
    ///
    /// ```
    /// let opts = staticdl_loader::LoadOptions::new().executable_symbols(true);
    /// assert!(opts.executable_symbols);
    /// ```
    pub fn executable_symbols(mut self, yes: bool) -> Self {
        self.executable_symbols = yes;
        self
    }

    /// Whether objects record where each import was bound; see
    /// [`LoadOptions::record_imports`].
    ///
    /// ```
    /// let opts = staticdl_loader::LoadOptions::new().record_imports(true);
    /// assert!(opts.record_imports);
    /// ```
    pub fn record_imports(mut self, yes: bool) -> Self {
        self.record_imports = yes;
        self
    }

    /// Add a bind hook; see [`BindHook`](crate::BindHook).
    ///
    /// ```
    /// let opts = staticdl_loader::LoadOptions::new()
    ///     .bind_hook(std::sync::Arc::new(|_: &staticdl_loader::BindRequest<'_>| None));
    /// assert_eq!(opts.bind_hooks.len(), 1);
    /// ```
    pub fn bind_hook(mut self, hook: Arc<crate::BindHook>) -> Self {
        self.bind_hooks.push(hook);
        self
    }

    /// Host symbols consulted after every loaded object (the usual place: a plugin's
    /// own dependencies win, the host fills the rest).
    pub fn host_symbols(mut self, source: impl SymbolSource + 'static) -> Self {
        self.last.push(Arc::new(source));
        self
    }

    /// Host symbols consulted before every loaded object (they interpose).
    pub fn host_symbols_first(mut self, source: impl SymbolSource + 'static) -> Self {
        self.first.push(Arc::new(source));
        self
    }

    /// A provider of libraries for `DT_NEEDED` names.
    pub fn provider(mut self, provider: impl LibraryProvider + 'static) -> Self {
        self.providers.push(Arc::new(provider));
        self
    }

    /// Replace the limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Arguments passed to init functions.
    pub fn process_args(mut self, args: ProcessArgs) -> Self {
        self.process_args = args;
        self
    }

    /// Call `hook(start, len)` for each object of the load when it is unloaded,
    /// after its fini functions and before its memory is unmapped (for example to
    /// drop `atexit` handlers that point into it).
    pub fn on_unload(mut self, hook: impl Fn(usize, usize) + Send + Sync + 'static) -> Self {
        self.on_unload.push(Arc::new(hook));
        self
    }
}
