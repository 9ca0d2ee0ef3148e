//! How to open a plugin: the builder behind [`Plugin::options`](crate::Plugin::options).
//!
//! Owns [`OpenOptions`], plain data, and its mapping onto the loader's
//! `LoadOptions` (host symbol sources, search paths, executable stacks, global
//! scope, limits; the process arguments are always passed). It opens nothing and
//! knows nothing of the registry or of plugins: [`OpenOptions::open`] lives in
//! `open.rs`.

use std::path::PathBuf;
use std::sync::Arc;

use staticdl_loader::{LibraryProvider, Limits, LoadOptions, SymbolSource};

/// Options for opening a plugin; finish with [`OpenOptions::open`].
///
/// Options apply when the plugin is actually loaded. Opening a plugin that is
/// already loaded (or remembered as failed) returns that plugin (or failure)
/// whatever the options say — except [`keep_loaded`](OpenOptions::keep_loaded),
/// which can pin a loaded plugin later.
///
/// ```no_run
/// extern "C" fn host_add(a: i32, b: i32) -> i32 { a + b }
///
/// let plugin = staticdl::Plugin::options()
///     .host_symbol("host_add", host_add as extern "C" fn(i32, i32) -> i32 as usize)
///     .search_path("/opt/app/lib")
///     .keep_loaded(true)
///     .open("/opt/app/plugins/libhello.so")?;
/// # Ok::<(), staticdl::Error>(())
/// ```
#[derive(Clone)]
pub struct OpenOptions {
    pub(crate) load: LoadOptions,
    pub(crate) keep_loaded: bool,
    #[cfg_attr(not(feature = "libc"), allow(dead_code))]
    pub(crate) libc_provider: bool,
    /// What [`OpenOptions::intercept`] asked for.
    pub(crate) intercepts: Vec<crate::intercept::Request>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenOptions")
            .field("search_paths", &self.load.search_paths)
            .field("system_dirs", &self.load.system_dirs)
            .field("allow_exec_stack", &self.load.allow_exec_stack)
            .field("global", &self.load.global)
            .field(
                "host_sources",
                &(self.load.first.len() + self.load.last.len()),
            )
            .field("keep_loaded", &self.keep_loaded)
            .field("libc_provider", &self.libc_provider)
            .field("intercepts", &self.intercepts.len())
            .finish()
    }
}

impl OpenOptions {
    /// The defaults: system directories searched, no executable stacks, local
    /// scope (`RTLD_LOCAL`), no host symbols, unloaded when the last handle goes.
    ///
    /// ```
    /// let opts = staticdl::OpenOptions::new();
    /// # let _ = opts;
    /// ```
    pub fn new() -> Self {
        OpenOptions {
            load: LoadOptions::new(),
            keep_loaded: false,
            libc_provider: true,
            intercepts: Vec::new(),
        }
    }

    /// Adds a source of host symbols, consulted after every loaded object (a
    /// plugin's own dependencies win; the host fills in the rest).
    ///
    /// ```
    /// extern "C" fn host_add(a: i32, b: i32) -> i32 { a + b }
    /// let opts = staticdl::OpenOptions::new().host_symbols(|name: &[u8], _ver: Option<&[u8]>| {
    ///     (name == b"host_add").then_some(host_add as extern "C" fn(i32, i32) -> i32 as usize)
    /// });
    /// # let _ = opts;
    /// ```
    pub fn host_symbols(mut self, source: impl SymbolSource + 'static) -> Self {
        self.load.last.push(Arc::new(source));
        self
    }

    /// Adds a source of host symbols consulted before every loaded object: its
    /// definitions interpose on the plugin's own.
    ///
    /// ```
    /// let opts = staticdl::OpenOptions::new()
    ///     .host_symbols_first(|_: &[u8], _: Option<&[u8]>| None::<usize>);
    /// # let _ = opts;
    /// ```
    pub fn host_symbols_first(mut self, source: impl SymbolSource + 'static) -> Self {
        self.load.first.push(Arc::new(source));
        self
    }

    /// Offers one host symbol, `name` (any version) at `addr`.
    ///
    /// ```
    /// extern "C" fn host_record(_v: i32) {}
    /// let opts = staticdl::OpenOptions::new()
    ///     .host_symbol("host_record", host_record as extern "C" fn(i32) as usize);
    /// # let _ = opts;
    /// ```
    pub fn host_symbol(self, name: &str, addr: usize) -> Self {
        let name = name.as_bytes().to_vec();
        self.host_symbols(move |n: &[u8], _: Option<&[u8]>| (n == name).then_some(addr))
    }

    /// Adds a provider of libraries for `DT_NEEDED` names, asked before any file
    /// is looked for.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use staticdl::{LibraryProvider, SymbolSource};
    /// struct NoLibm;
    /// impl LibraryProvider for NoLibm {
    ///     fn provide(&self, name: &str) -> Option<Arc<dyn SymbolSource>> {
    ///         (name == "libm.so.6").then(|| {
    ///             Arc::new(|_: &[u8], _: Option<&[u8]>| None::<usize>) as Arc<dyn SymbolSource>
    ///         })
    ///     }
    /// }
    /// let opts = staticdl::OpenOptions::new().provider(NoLibm);
    /// # let _ = opts;
    /// ```
    pub fn provider(mut self, provider: impl LibraryProvider + 'static) -> Self {
        self.load.providers.push(Arc::new(provider));
        self
    }

    /// Adds a directory to search for dependencies (where `LD_LIBRARY_PATH` sits
    /// in glibc's order).
    ///
    /// ```
    /// let opts = staticdl::OpenOptions::new().search_path("/opt/app/lib");
    /// # let _ = opts;
    /// ```
    pub fn search_path(mut self, dir: impl Into<PathBuf>) -> Self {
        self.load.search_paths.push(dir.into());
        self
    }

    /// Whether the system directories are searched last (default true).
    ///
    /// ```
    /// let opts = staticdl::OpenOptions::new().system_dirs(false);
    /// # let _ = opts;
    /// ```
    pub fn system_dirs(mut self, yes: bool) -> Self {
        self.load.system_dirs = yes;
        self
    }

    /// Whether objects that ask for an executable stack may load (default false).
    ///
    /// ```
    /// let opts = staticdl::OpenOptions::new().allow_exec_stack(true);
    /// # let _ = opts;
    /// ```
    pub fn allow_exec_stack(mut self, yes: bool) -> Self {
        self.load.allow_exec_stack = yes;
        self
    }

    /// Whether the plugin and its dependencies join the global scope, so later
    /// loads resolve against them (`RTLD_GLOBAL`; default false).
    ///
    /// ```
    /// let opts = staticdl::OpenOptions::new().global(true);
    /// # let _ = opts;
    /// ```
    pub fn global(mut self, yes: bool) -> Self {
        self.load.global = yes;
        self
    }

    /// Replaces the limits that protect the host from hostile objects.
    ///
    /// ```
    /// let opts = staticdl::OpenOptions::new()
    ///     .limits(staticdl::Limits { max_objects: 8, ..Default::default() });
    /// # let _ = opts;
    /// ```
    pub fn limits(mut self, limits: Limits) -> Self {
        self.load.limits = limits;
        self
    }

    /// Make the host executable's exported symbols (what it was linked to export
    /// with `-rdynamic`/`--export-dynamic` or `--dynamic-list`) visible to the
    /// plugin's imports, as glibc's global scope does: after the C library the
    /// libc provider answers, before the plugin and its dependencies (default
    /// false). An interpreter's C modules (Lua's `lfs.so` importing `lua_*`) need
    /// it. A static-pie host must be linked with the exports for there to be any.
    ///
    /// ```
    /// let opts = staticdl::OpenOptions::new().export_executable_symbols(true);
    /// # let _ = opts;
    /// ```
    pub fn export_executable_symbols(mut self, yes: bool) -> Self {
        self.load.executable_symbols = yes;
        self
    }

    /// Bind function imports that nothing defines to traps instead of refusing
    /// the plugin: it loads, and a call of such a function writes
    /// `staticdl: <object>: call of unresolved function <name>` and aborts the
    /// process (glibc's `RTLD_LAZY` analogue, made per symbol). Data imports that
    /// nothing defines still refuse the plugin. Default false: the open fails
    /// naming every missing import.
    ///
    /// ```
    /// let opts = staticdl::OpenOptions::new().trap_unresolved(true);
    /// # let _ = opts;
    /// ```
    pub fn trap_unresolved(mut self, yes: bool) -> Self {
        self.load.trap_unresolved = yes;
        self
    }

    /// Keep a closed plugin's reservation for its next open, advised back to the
    /// file's contents (default false): for hosts that open and close the same
    /// plugins again and again, a reopen then costs about half the kernel time.
    /// What it changes (the file stays referenced for a while, a stale pointer
    /// reads the file instead of faulting) is in
    /// [`LoadOptions::reuse_mappings`](staticdl_loader::LoadOptions::reuse_mappings);
    /// [`staticdl_loader::release_closed_mappings`] gives the kept ones back.
    ///
    /// ```
    /// let opts = staticdl::OpenOptions::new().reuse_mappings(true);
    /// # let _ = opts;
    /// ```
    pub fn reuse_mappings(mut self, yes: bool) -> Self {
        self.load.reuse_mappings = yes;
        self
    }

    /// Never unload the plugin, as Go's `plugin` package never does: the registry
    /// keeps a handle, so dropping or closing every other handle runs no `fini`
    /// and unmaps nothing (default false).
    ///
    /// ```
    /// let opts = staticdl::OpenOptions::new().keep_loaded(true);
    /// # let _ = opts;
    /// ```
    pub fn keep_loaded(mut self, yes: bool) -> Self {
        self.keep_loaded = yes;
        self
    }

    /// The loader options for this open: these options plus the process
    /// arguments, with code allowed to run, and the libc provider's additions
    /// when it is on.
    pub(crate) fn load_options(&self) -> LoadOptions {
        let mut load = self.load.clone();
        load.run_code = true;
        load.process_args = staticdl_loader::runtime::process_args();
        #[cfg(feature = "libc")]
        if self.libc_provider {
            load = staticdl_libc::with_provider(load);
        }
        crate::intercept::prepare(&mut load, &self.intercepts);
        load
    }

    /// Traps the calls `selection` picks in the plugin when it is loaded, and
    /// runs `interceptor` on them (see [`intercept`](crate::intercept)):
    /// [`Imports`](crate::intercept::Imports) in every object of the load (the
    /// plugin and the dependencies loaded with it), [`Exports`](crate::intercept::Exports)
    /// of the plugin itself. Like every option it applies when the plugin is
    /// loaded; for a plugin that is loaded already, use
    /// [`intercept::attach`](crate::intercept::attach). May be called more than
    /// once: the interceptors chain in this order.
    ///
    /// # Safety
    /// Every symbol selected is a function with the C calling convention (an
    /// export that is data must not be selected), and a call that runs a post
    /// passes no more bytes of stack arguments than the interceptor's stack
    /// window ([`Interceptor::stack_window`](crate::intercept::Interceptor::stack_window)).
    ///
    /// ```no_run
    /// use staticdl::intercept::{Flow, Imports, Interceptor};
    /// let trace = Interceptor::new().pre(|call| {
    ///     eprintln!("{} -> {}", call.object().display(), call.symbol());
    ///     Flow::Continue
    /// });
    /// // SAFETY: zlib's imports are C functions; the trace has no post.
    /// let z = unsafe { staticdl::Plugin::options().intercept(Imports::matching("*"), trace) }
    ///     .open("/lib/x86_64-linux-gnu/libz.so.1")?;
    /// # drop(z);
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    // An `unsafe fn`: the caller vouches for what it selects (see # Safety).
    #[allow(unsafe_code)]
    pub unsafe fn intercept(
        mut self,
        selection: impl Into<crate::intercept::Selection>,
        interceptor: crate::intercept::Interceptor,
    ) -> Self {
        self.intercepts.push(crate::intercept::Request::new(
            selection.into(),
            interceptor,
        ));
        self
    }

    /// Whether `DT_NEEDED` names of the C library family (`libc.so.6`,
    /// `libm.so.6`, `libpthread.so.0`, `ld-linux-x86-64.so.2`, `libgcc_s.so.1`, ...)
    /// are answered by the host's own C library through
    /// [`provider::LibcProvider`](crate::provider::LibcProvider) (default true).
    /// With false, such names are looked for on disk like any other library, which
    /// in a static host means a second C library: almost never what you want.
    ///
    /// ```
    /// let opts = staticdl::OpenOptions::new().libc_provider(false);
    /// # let _ = opts;
    /// ```
    #[cfg(feature = "libc")]
    pub fn libc_provider(mut self, yes: bool) -> Self {
        self.libc_provider = yes;
        self
    }
}
