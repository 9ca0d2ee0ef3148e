//! Shared pieces of the benchmarks: where the generated objects are, how each loader
//! opens, looks up and closes them, and how memory is read.
//!
//! Owns the per-loader wrappers used by the criterion bench (`benches/load.rs`), the
//! memory and syscall binaries and the static suite, so that every binary measures
//! the same calls. It does not time anything; the binaries do.
//!
//! The objects are built by `build.rs` into `OUT_DIR` (see the table there).

use std::ffi::{c_void, CString};
use std::path::PathBuf;

/// The directory `build.rs` compiled the objects into.
pub const PLUGIN_DIR: &str = env!("BENCH_PLUGIN_DIR");

/// Number of copies of the tiny plugin in `variants/`.
pub const VARIANTS: usize = 100;

/// The exported function of the tiny plugin: `int tiny_add(int, int)`.
pub const TINY_FN: &str = "tiny_add";
/// A name the 5,000-export library defines (in the middle of its table).
pub const HIT: &str = "bench_fn_2500";
/// A name it does not define.
pub const MISS: &str = "bench_fn_absent";

/// Debian's SQLite, when installed.
pub const SQLITE: &str = "/lib/x86_64-linux-gnu/libsqlite3.so.0";

/// A generated object by file name, e.g. `libtiny.so`.
pub fn plugin(name: &str) -> PathBuf {
    PathBuf::from(PLUGIN_DIR).join(name)
}

/// The `i`th copy of the tiny plugin.
pub fn variant(i: usize) -> PathBuf {
    PathBuf::from(PLUGIN_DIR)
        .join("variants")
        .join(format!("libtiny_v{i:03}.so"))
}

/// The signature of `tiny_add`.
pub type TinyAdd = extern "C" fn(i32, i32) -> i32;

/// Resident set size of this process in KiB, from `/proc/self/statm`.
pub fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("statm resident field");
    pages * page_size() / 1024
}

/// `Rss`, `Pss` and `Private_Dirty` of this process in KiB, from
/// `/proc/self/smaps_rollup`.
pub fn smaps_rollup_kib() -> (u64, u64, u64) {
    let s = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("Rss:"), field("Pss:"), field("Private_Dirty:"))
}

/// Whether any mapping of this process is backed by the file at `path` (by the
/// path `/proc/self/maps` shows, canonicalised).
pub fn is_mapped(path: &std::path::Path) -> bool {
    let want = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .any(|p| std::path::Path::new(p) == want)
}

/// Memory figures of this process at one moment (KiB, and a mapping count).
#[derive(Debug, Clone, Copy)]
pub struct MemSnapshot {
    /// Resident set, from `/proc/self/statm`.
    pub rss: u64,
    /// `Pss` from `/proc/self/smaps_rollup`.
    pub pss: u64,
    /// `Private_Dirty` from `/proc/self/smaps_rollup`.
    pub private_dirty: u64,
    /// Lines of `/proc/self/maps`.
    pub mappings: usize,
}

impl MemSnapshot {
    /// Take one now.
    pub fn now() -> MemSnapshot {
        let (_, pss, private_dirty) = smaps_rollup_kib();
        MemSnapshot {
            rss: rss_kib(),
            pss,
            private_dirty,
            mappings: mapping_count(),
        }
    }

    /// One tab-separated line: label, objects, then the growth from `before` to
    /// `self` (RSS, PSS, private dirty in KiB; mappings), then RSS KiB per object.
    pub fn report(&self, label: &str, before: &MemSnapshot, objects: usize) -> String {
        let d = |a: u64, b: u64| a as i64 - b as i64;
        let rss = d(self.rss, before.rss);
        format!(
            "{label}\t{objects}\t{rss}\t{}\t{}\t{}\t{:.1}",
            d(self.pss, before.pss),
            d(self.private_dirty, before.private_dirty),
            self.mappings as i64 - before.mappings as i64,
            rss as f64 / objects as f64
        )
    }
}

/// Number of mappings of this process (lines of `/proc/self/maps`).
pub fn mapping_count() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as u64
    } else {
        4096
    }
}

/// A syscall that does nothing and is easy to find in `strace` output: `write` of
/// `label` to file descriptor -1 (which fails with `EBADF`).
pub fn strace_marker(label: &str) {
    // SAFETY: writing from a valid buffer; fd -1 is never open.
    unsafe { libc::write(-1, label.as_ptr().cast::<c_void>(), label.len()) };
}

/// A path as a C string.
pub fn c_path(p: &std::path::Path) -> CString {
    use std::os::unix::ffi::OsStrExt;
    CString::new(p.as_os_str().as_bytes()).expect("no NUL in path")
}

/// staticdl, through the loader crate's namespace (`Namespace::load`).
pub mod ns {
    use std::path::Path;
    use std::sync::Arc;

    use staticdl_loader::{Library, LoadOptions, Namespace};

    /// The namespace every benchmark loads into (one per process, as a host has).
    pub static NS: Namespace = Namespace::new();

    /// Options for the freestanding objects: no system directories searched, no
    /// host symbols needed.
    pub fn options() -> LoadOptions {
        LoadOptions::new().system_dirs(false)
    }

    /// Options that answer `libc.so.6` (and the other glibc libraries) with the
    /// host's own glibc, looked up through `dlsym`/`dlvsym`: what an ordinary
    /// dynamically linked host can offer a plugin built against glibc.
    #[cfg(target_env = "gnu")]
    pub fn options_with_host_glibc() -> LoadOptions {
        options().provider(super::glibc::HostGlibc)
    }

    /// Open, look up `name`, close. Returns the address found (0 when absent).
    pub fn open_lookup_close(path: &Path, opts: &LoadOptions, name: &str) -> usize {
        let lib = open(path, opts);
        let addr = lib.symbol(name).map_or(0, |p| p.as_ptr() as usize);
        drop(lib);
        addr
    }

    /// Open or panic with the loader's message.
    pub fn open(path: &Path, opts: &LoadOptions) -> Library {
        NS.load(path, opts)
            .unwrap_or_else(|e| panic!("staticdl: {}: {e}", path.display()))
    }

    /// Keeps the type in scope for the binaries.
    pub type Handle = Library;

    /// A source with no symbols (for options that must not find any host symbol).
    pub fn no_symbols() -> Arc<dyn staticdl_loader::SymbolSource> {
        Arc::new(|_: &[u8], _: Option<&[u8]>| None::<usize>)
    }
}

/// staticdl's facade (`staticdl::Plugin`), with its process-wide registry.
#[cfg(feature = "facade")]
pub mod facade {
    use std::path::Path;

    pub use staticdl::{OpenOptions, Plugin};

    /// Options for the freestanding objects (no system directories).
    pub fn options() -> OpenOptions {
        Plugin::options().system_dirs(false)
    }

    /// Open or panic with the facade's message.
    pub fn open(path: &Path, opts: &OpenOptions) -> Plugin {
        opts.open(path)
            .unwrap_or_else(|e| panic!("staticdl facade: {e}"))
    }

    /// Open, look up `name`, close. Returns the address found (0 when absent).
    pub fn open_lookup_close(path: &Path, opts: &OpenOptions, name: &str) -> usize {
        let p = open(path, opts);
        let a = p.symbol_address(name).map_or(0, |a| a.as_ptr() as usize);
        drop(p);
        a
    }

    /// Load options with staticdl's own C library provider (`staticdl::provider`),
    /// which answers `libc.so.6`, `libm.so.6`, ... from the host.
    pub fn provider_options() -> staticdl_loader::LoadOptions {
        staticdl::provider::load_options().system_dirs(false)
    }

    /// Open through the provider's namespace, look up `name`, close.
    pub fn provider_open_lookup_close(
        path: &Path,
        opts: &staticdl_loader::LoadOptions,
        name: &str,
    ) -> Result<usize, String> {
        let lib = staticdl::provider::namespace()
            .load(path, opts)
            .map_err(|e| e.to_string())?;
        let a = lib.symbol(name).map_or(0, |p| p.as_ptr() as usize);
        drop(lib);
        Ok(a)
    }
}

/// glibc's `dlopen`, through the libc crate.
#[cfg(target_env = "gnu")]
pub mod glibc {
    use std::ffi::{c_void, CStr, CString};
    use std::path::Path;
    use std::sync::{Arc, OnceLock};

    /// `RTLD_NOW | RTLD_LOCAL`, as every peer here is asked to load.
    pub const FLAGS: i32 = libc::RTLD_NOW | libc::RTLD_LOCAL;

    /// A `dlopen` handle, closed on drop.
    pub struct Dl(*mut c_void);

    impl Dl {
        /// `dlopen(path, RTLD_NOW | RTLD_LOCAL)`, or panic with `dlerror()`.
        pub fn open(path: &CStr) -> Dl {
            // SAFETY: a NUL-terminated path; the objects' constructors are benign.
            let h = unsafe { libc::dlopen(path.as_ptr(), FLAGS) };
            if h.is_null() {
                panic!("dlopen {path:?}: {}", error());
            }
            Dl(h)
        }

        /// `dlsym(handle, name)`; null when absent.
        #[inline]
        pub fn sym(&self, name: &CStr) -> *mut c_void {
            // SAFETY: a live handle and a NUL-terminated name.
            unsafe { libc::dlsym(self.0, name.as_ptr()) }
        }
    }

    impl Drop for Dl {
        fn drop(&mut self) {
            // SAFETY: the handle came from dlopen and is closed once.
            unsafe { libc::dlclose(self.0) };
        }
    }

    /// The text of `dlerror()`.
    pub fn error() -> String {
        // SAFETY: dlerror returns null or a NUL-terminated string.
        let e = unsafe { libc::dlerror() };
        if e.is_null() {
            "(no dlerror)".into()
        } else {
            // SAFETY: just checked non-null.
            unsafe { CStr::from_ptr(e) }.to_string_lossy().into_owned()
        }
    }

    /// Open, look up `name`, close.
    pub fn open_lookup_close(path: &CStr, name: &CStr) -> usize {
        let dl = Dl::open(path);
        let a = dl.sym(name) as usize;
        drop(dl);
        a
    }

    /// Whether glibc currently has `path` loaded (`RTLD_NOLOAD`).
    pub fn is_loaded(path: &Path) -> bool {
        let c = super::c_path(path);
        // SAFETY: RTLD_NOLOAD loads nothing; a handle it returns is closed at once.
        let h = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOLOAD | libc::RTLD_NOW) };
        if !h.is_null() {
            // SAFETY: h came from dlopen.
            unsafe { libc::dlclose(h) };
        }
        !h.is_null()
    }

    /// A [`staticdl_loader::LibraryProvider`] that answers glibc's libraries with
    /// the host process's own glibc: each is opened once with `dlopen` (it is already
    /// loaded, or is loaded then and stays), and symbols are looked up in it with
    /// `dlvsym` (versioned imports) or `dlsym`.
    pub struct HostGlibc;

    /// The glibc libraries [`HostGlibc`] answers.
    pub const GLIBC_LIBS: [&str; 6] = [
        "libc.so.6",
        "libm.so.6",
        "libdl.so.2",
        "libpthread.so.0",
        "librt.so.1",
        "ld-linux-x86-64.so.2",
    ];

    /// One glibc library, by its `dlopen` handle.
    struct GlibcLib(usize);

    impl staticdl_loader::SymbolSource for GlibcLib {
        fn lookup(&self, name: &[u8], version: Option<&[u8]>) -> Option<usize> {
            let n = CString::new(name).ok()?;
            let h = self.0 as *mut c_void;
            // SAFETY: a live handle (never closed) and NUL-terminated strings.
            let p = unsafe {
                match version.and_then(|v| CString::new(v).ok()) {
                    Some(v) => libc::dlvsym(h, n.as_ptr(), v.as_ptr()),
                    None => libc::dlsym(h, n.as_ptr()),
                }
            };
            (!p.is_null()).then_some(p as usize)
        }
    }

    type Source = Arc<dyn staticdl_loader::SymbolSource>;
    static SOURCES: [OnceLock<Option<Source>>; 6] = [const { OnceLock::new() }; 6];

    impl staticdl_loader::LibraryProvider for HostGlibc {
        fn provide(&self, name: &str) -> Option<Source> {
            let i = GLIBC_LIBS.iter().position(|l| *l == name)?;
            SOURCES[i]
                .get_or_init(|| {
                    let c = CString::new(name).ok()?;
                    // SAFETY: glibc's own libraries; the handle is kept for the
                    // life of the process.
                    let h = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
                    (!h.is_null()).then(|| Arc::new(GlibcLib(h as usize)) as Source)
                })
                .clone()
        }
    }
}

/// libloading, with the same flags as glibc (`RTLD_NOW | RTLD_LOCAL`).
#[cfg(target_env = "gnu")]
pub mod libloading_peer {
    use libloading::os::unix::Library;
    use std::path::Path;

    /// Open or panic.
    pub fn open(path: &Path) -> Library {
        // SAFETY: the objects' constructors are benign.
        unsafe { Library::open(Some(path), super::glibc::FLAGS) }
            .unwrap_or_else(|e| panic!("libloading: {e}"))
    }

    /// Open, look up `name` (NUL-terminated, so libloading does not copy it), close.
    pub fn open_lookup_close(path: &Path, name: &[u8]) -> usize {
        let lib = open(path);
        // SAFETY: the symbol is only turned into an address.
        let a = unsafe { lib.get::<*mut std::ffi::c_void>(name) }
            .map(|s| *s as usize)
            .unwrap_or(0);
        drop(lib);
        a
    }
}

/// elf_loader (the "Relink" project): its low-level `Loader` + `Relocator` for one
/// object, and its `Linker` + `LinkContext` where dependencies must be found.
///
/// Objects that import from glibc get the host's `libc.so.6` / `libm.so.6` as
/// elf_loader modules (its `host::open`), which needs a domain with a TLS resolver;
/// every object of one benchmark is loaded into that same domain ([`Host`]).
#[cfg(target_env = "gnu")]
pub mod elf_loader_peer {
    use elf_loader::arch::NativeArch;
    use elf_loader::image::{LoadedCore, ModuleHandle};
    use elf_loader::input::{ElfFile, PathBuf as ElfPathBuf};
    use elf_loader::linker::{GraphModule, LoadResult, SearchPathResolver};
    use elf_loader::relocation::BindingMode;
    use elf_loader::tls::DefaultTlsResolver;
    use elf_loader::{AddressSpaceId, Domain, LinkContext, Linker, Loader, Relocator};
    use std::path::Path;

    /// A loaded single object (dropping it runs fini and unmaps).
    pub type Dylib = LoadedCore<(), NativeArch, elf_loader::memory::HostRegion, DefaultTlsResolver>;
    /// The domain every object is loaded into.
    pub type HostDomain = Domain<NativeArch, DefaultTlsResolver>;
    /// A link context in that domain.
    pub type Context = LinkContext<(), NativeArch, DefaultTlsResolver>;
    /// The linker used where dependencies are found by `DT_RUNPATH`.
    pub type RunpathLinker = Linker<NativeArch, Loader, SearchPathResolver>;

    const LOADER: Loader = Loader::new();
    const RELOCATOR: Relocator = Relocator::new().with_binding(BindingMode::Eager);

    /// A TLS-capable domain and, on request, the host's glibc libraries in it.
    pub struct Host {
        /// The domain.
        pub domain: HostDomain,
        /// `(soname, module)` of each imported host library.
        pub libs: Vec<(&'static str, ModuleHandle)>,
    }

    impl Host {
        /// A domain with no host library.
        pub fn bare() -> Host {
            let domain = Domain::native(AddressSpaceId::PROCESS)
                .with_tls(DefaultTlsResolver::new())
                .expect("elf_loader TLS domain");
            Host {
                domain,
                libs: Vec::new(),
            }
        }

        /// A domain with the host's `libc.so.6` and `libm.so.6` imported.
        pub fn with_glibc() -> Result<Host, String> {
            let mut h = Host::bare();
            for (soname, path) in [
                ("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"),
                ("libm.so.6", "/lib/x86_64-linux-gnu/libm.so.6"),
            ] {
                // SAFETY: glibc's own libraries, loaded by glibc's loader.
                let m = unsafe {
                    elf_loader::host::open(
                        &h.domain,
                        elf_loader::input::Path::new(path.as_bytes()),
                        soname,
                    )
                }
                .map_err(|e| e.to_string())?;
                h.libs.push((soname, m));
            }
            Ok(h)
        }

        /// Load one object, its imports answered by the host libraries only.
        pub fn try_open(&self, path: &Path) -> Result<Dylib, String> {
            let file = ElfFile::from_path(path.to_str().expect("UTF-8 path"))
                .map_err(|e| e.to_string())?;
            let raw = LOADER
                .run(self.domain.clone())
                .load_dylib(file)
                .map_err(|e| e.to_string())?;
            let run = RELOCATOR.run(raw);
            let run = if self.libs.is_empty() {
                run
            } else {
                run.with_modules(self.libs.iter().map(|(_, m)| m.clone()))
                    .map_err(|e| e.to_string())?
            };
            let lib = run.relocate().map_err(|e| e.to_string())?;
            Ok(lib)
        }

        /// Load one object or panic.
        pub fn open(&self, path: &Path) -> Dylib {
            self.try_open(path)
                .unwrap_or_else(|e| panic!("elf_loader: {}: {e}", path.display()))
        }

        /// A fresh link context holding the host libraries.
        pub fn context(&self) -> Context {
            let mut ctx = LinkContext::new(self.domain.clone());
            if !self.libs.is_empty() {
                ctx.insert_batch(
                    self.libs
                        .iter()
                        .map(|(n, m)| GraphModule::new(*n, m.clone())),
                )
                .expect("host libraries into the context");
            }
            ctx
        }
    }

    /// Load one freestanding object (no host library) in a fresh domain.
    pub fn try_open(path: &Path) -> Result<Dylib, String> {
        Host::bare().try_open(path)
    }

    /// Look `name` up in one object; 0 when absent.
    #[inline]
    pub fn lookup(lib: &Dylib, name: &str) -> usize {
        // SAFETY: the symbol is only turned into an address.
        unsafe { lib.get::<*mut std::ffi::c_void>(name) }
            .ok()
            .flatten()
            .map(|s| *s as usize)
            .unwrap_or(0)
    }

    /// A linker that follows `DT_RUNPATH` / `DT_RPATH`, as `dlopen` does.
    pub fn linker() -> RunpathLinker {
        let mut resolver = SearchPathResolver::new();
        resolver.push_rpath();
        resolver.push_runpath();
        Linker::new().with_resolver(resolver)
    }

    /// Load `path` and its dependencies into `context`; the result must be released.
    pub fn link(
        linker: &RunpathLinker,
        context: &mut Context,
        path: &Path,
    ) -> Result<LoadResult, String> {
        linker
            .run()
            .load(
                context,
                ElfPathBuf::from(path.to_str().expect("UTF-8 path")),
            )
            .map_err(|e| e.to_string())
    }

    /// Look `name` up in the root of a linked load; 0 when absent.
    pub fn link_lookup(context: &Context, loaded: &LoadResult, name: &str) -> usize {
        let Ok(m) = context.module(loaded.root()) else {
            return 0;
        };
        // SAFETY: the symbol is only turned into an address.
        unsafe { m.get::<*mut std::ffi::c_void>(name) }
            .ok()
            .flatten()
            .map_or(0, |s| *s as usize)
    }
}

/// The syscalls a loader makes to open and close one object, replayed alone with
/// libc calls on the same file: the floor under that loader's time for the object.
///
/// A plan is computed once from the object's program headers; each replay then does
/// exactly the calls `strace` shows the loader making (see `benches/syscalls.sh`,
/// which checks the sequences side by side). [`Plan::staticdl_touch`] also
/// touches the pages the loader touches (the headers it reads, the writable pages
/// it relocates, the code the constructor runs), so page faults are in the floor.
pub mod replay {
    use std::ffi::{c_void, CStr};
    use std::path::Path;

    const PAGE: u64 = 4096;
    const PT_LOAD: u32 = 1;
    const PT_GNU_RELRO: u32 = 0x6474_e552;
    /// Writable segments up to this size are mapped with `MAP_POPULATE` by staticdl
    /// (its `map::POPULATE_LIMIT`).
    const POPULATE_LIMIT: u64 = 2 * 1024 * 1024;

    fn floor(v: u64) -> u64 {
        v & !(PAGE - 1)
    }
    fn ceil(v: u64) -> u64 {
        (v + PAGE - 1) & !(PAGE - 1)
    }

    #[derive(Debug, Clone, Copy)]
    struct Seg {
        vaddr: u64,
        offset: u64,
        filesz: u64,
        memsz: u64,
        prot: i32,
    }

    /// What to replay for one object.
    #[derive(Debug, Clone)]
    pub struct Plan {
        path: std::ffi::CString,
        loads: Vec<Seg>,
        relro: Option<(u64, u64)>,
    }

    fn u16_at(b: &[u8], o: usize) -> u16 {
        u16::from_le_bytes(b[o..o + 2].try_into().unwrap())
    }
    fn u32_at(b: &[u8], o: usize) -> u32 {
        u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
    }
    fn u64_at(b: &[u8], o: usize) -> u64 {
        u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
    }

    impl Plan {
        /// Read the program headers of `path` (an ELF64 little-endian object).
        pub fn new(path: &Path) -> Plan {
            let b = std::fs::read(path).expect("read object");
            let phoff = u64_at(&b, 0x20) as usize;
            let phentsize = u16_at(&b, 0x36) as usize;
            let phnum = u16_at(&b, 0x38) as usize;
            let mut loads = Vec::new();
            let mut relro = None;
            for i in 0..phnum {
                let p = &b[phoff + i * phentsize..];
                let (ty, flags) = (u32_at(p, 0), u32_at(p, 4));
                let seg = Seg {
                    offset: u64_at(p, 8),
                    vaddr: u64_at(p, 16),
                    filesz: u64_at(p, 32),
                    memsz: u64_at(p, 40),
                    prot: (if flags & 4 != 0 { libc::PROT_READ } else { 0 })
                        | (if flags & 2 != 0 { libc::PROT_WRITE } else { 0 })
                        | (if flags & 1 != 0 { libc::PROT_EXEC } else { 0 }),
                };
                match ty {
                    PT_LOAD => loads.push(seg),
                    PT_GNU_RELRO => relro = Some((seg.vaddr, seg.memsz)),
                    _ => {}
                }
            }
            Plan {
                path: super::c_path(path),
                loads,
                relro,
            }
        }

        fn span(&self) -> (u64, u64) {
            let start = floor(self.loads[0].vaddr);
            let end = self
                .loads
                .iter()
                .map(|s| ceil(s.vaddr + s.memsz))
                .max()
                .unwrap();
            (start, end)
        }

        /// staticdl's sequence: `open`, `fstat`, `pread` of 1 KiB, one `mmap` of the
        /// whole span from the file (the first segment), `mmap` of each other
        /// segment (writable ones populated), anonymous `.bss`, `close`,
        /// `mprotect` of RELRO, `munmap` of the span.
        pub fn staticdl(&self) {
            self.staticdl_inner(false)
        }

        /// [`Plan::staticdl`], touching the pages the loader touches as well.
        pub fn staticdl_touch(&self) {
            self.staticdl_inner(true)
        }

        fn staticdl_inner(&self, touch: bool) {
            let mut buf = [0u8; 1024];
            // SAFETY: plain syscalls on a file this process owns; every mapping is
            // made inside the reservation it just created and unmapped at the end.
            unsafe {
                let fd = open(
                    &self.path,
                    libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
                );
                let mut st: libc::stat = std::mem::zeroed();
                // The raw `fstat` (glibc's `fstat` is `newfstatat`).
                libc::syscall(libc::SYS_fstat, fd, &mut st as *mut libc::stat);
                libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), 0);
                let (start, end) = self.span();
                let first = self.loads[0];
                let span = (end - start) as usize;
                let base = libc::mmap(
                    std::ptr::null_mut(),
                    span,
                    first.prot,
                    libc::MAP_PRIVATE,
                    fd,
                    floor(first.offset) as i64,
                );
                assert!(base != libc::MAP_FAILED, "mmap");
                let bias = base as u64 - start;
                let disp = first.vaddr.wrapping_sub(first.offset);
                for (i, s) in self.loads.iter().enumerate() {
                    let same = s.vaddr.wrapping_sub(s.offset) == disp && s.prot == first.prot;
                    let (a, e) = (floor(s.vaddr), ceil(s.vaddr + s.filesz));
                    if i > 0 && s.filesz > 0 && !same {
                        let mut flags = libc::MAP_PRIVATE | libc::MAP_FIXED;
                        if s.prot & libc::PROT_WRITE != 0 && e - a <= POPULATE_LIMIT {
                            flags |= libc::MAP_POPULATE;
                        }
                        fixed(bias + a, e - a, s.prot, flags, fd, floor(s.offset));
                    }
                    bss(bias, s);
                }
                libc::close(fd);
                if touch {
                    touch_pages(bias, &self.loads);
                }
                if let Some((v, len)) = self.relro {
                    let (a, e) = (floor(v), floor(v + len));
                    if e > a {
                        libc::mprotect(
                            (bias + a) as *mut c_void,
                            (e - a) as usize,
                            libc::PROT_READ,
                        );
                    }
                }
                libc::munmap(base, span);
            }
        }

        /// glibc's sequence: `openat`, `read` of 832 bytes, `fstat`, one `mmap` of
        /// the whole span (`MAP_DENYWRITE`, the first segment), `mmap` of each
        /// other segment, anonymous `.bss`, `close`, `mprotect` of RELRO, `munmap`.
        pub fn glibc(&self) {
            let mut buf = [0u8; 832];
            // SAFETY: as in `staticdl_inner`.
            unsafe {
                let fd = libc::openat(
                    libc::AT_FDCWD,
                    self.path.as_ptr(),
                    libc::O_RDONLY | libc::O_CLOEXEC,
                );
                assert!(fd >= 0, "openat");
                libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
                let mut st: libc::stat = std::mem::zeroed();
                libc::fstat(fd, &mut st);
                let first = self.loads[0];
                let last = self.loads[self.loads.len() - 1];
                let start = floor(first.vaddr);
                // glibc maps the span to the last segment's end, unrounded.
                let span = (last.vaddr + last.memsz - start) as usize;
                let base = libc::mmap(
                    std::ptr::null_mut(),
                    span,
                    first.prot,
                    libc::MAP_PRIVATE | libc::MAP_DENYWRITE,
                    fd,
                    floor(first.offset) as i64,
                );
                assert!(base != libc::MAP_FAILED, "mmap");
                let bias = base as u64 - start;
                for s in &self.loads[1..] {
                    let (a, e) = (floor(s.vaddr), ceil(s.vaddr + s.filesz));
                    if e > a {
                        fixed(
                            bias + a,
                            e - a,
                            s.prot,
                            libc::MAP_PRIVATE | libc::MAP_FIXED | libc::MAP_DENYWRITE,
                            fd,
                            floor(s.offset),
                        );
                    }
                    if s.memsz > s.filesz {
                        let zero = s.vaddr + s.filesz;
                        let zpage = ceil(zero);
                        let zend = s.vaddr + s.memsz;
                        if zero % PAGE != 0 {
                            std::ptr::write_bytes(
                                (bias + zero) as *mut u8,
                                0,
                                (zpage.min(zend) - zero) as usize,
                            );
                        }
                        if zend > zpage {
                            let r = libc::mmap(
                                (bias + zpage) as *mut c_void,
                                (zend - zpage) as usize,
                                s.prot,
                                libc::MAP_PRIVATE | libc::MAP_FIXED | libc::MAP_ANONYMOUS,
                                -1,
                                0,
                            );
                            assert!(r != libc::MAP_FAILED, "mmap bss");
                        }
                    }
                }
                libc::close(fd);
                if let Some((v, len)) = self.relro {
                    let (a, e) = (floor(v), floor(v + len));
                    if e > a {
                        libc::mprotect(
                            (bias + a) as *mut c_void,
                            (e - a) as usize,
                            libc::PROT_READ,
                        );
                    }
                }
                libc::munmap(base, span);
            }
        }
    }

    unsafe fn open(path: &CStr, flags: i32) -> i32 {
        // The raw `open` syscall, as rustix's linux backend makes it.
        // SAFETY: a NUL-terminated path.
        let fd = unsafe { libc::syscall(libc::SYS_open, path.as_ptr(), flags, 0) } as i32;
        assert!(fd >= 0, "open");
        fd
    }

    unsafe fn fixed(addr: u64, len: u64, prot: i32, flags: i32, fd: i32, off: u64) {
        // SAFETY: the caller's range lies inside its own reservation.
        let r = unsafe {
            libc::mmap(
                addr as *mut c_void,
                len as usize,
                prot,
                flags,
                fd,
                off as i64,
            )
        };
        assert!(r != libc::MAP_FAILED, "mmap fixed");
    }

    /// staticdl's `.bss`: zero the tail of the last file page, map the rest anew.
    unsafe fn bss(bias: u64, s: &Seg) {
        if s.memsz == s.filesz {
            return;
        }
        let file_end = s.vaddr + s.filesz;
        let anon_start = if s.filesz == 0 {
            floor(s.vaddr)
        } else {
            ceil(file_end)
        };
        if s.filesz > 0 && !file_end.is_multiple_of(PAGE) && s.prot & libc::PROT_WRITE != 0 {
            // SAFETY: inside the writable last file page of the segment.
            unsafe {
                std::ptr::write_bytes(
                    (bias + file_end) as *mut u8,
                    0,
                    (anon_start - file_end) as usize,
                )
            };
        }
        let anon_end = ceil(s.vaddr + s.memsz);
        if anon_end > anon_start {
            // SAFETY: inside the caller's reservation.
            let r = unsafe {
                libc::mmap(
                    (bias + anon_start) as *mut c_void,
                    (anon_end - anon_start) as usize,
                    s.prot,
                    libc::MAP_PRIVATE | libc::MAP_FIXED | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            assert!(r != libc::MAP_FAILED, "mmap bss");
        }
    }

    /// Read one byte of every page of every segment (file-backed and `.bss`), and
    /// write one byte of every writable page, as relocation and init do.
    unsafe fn touch_pages(bias: u64, loads: &[Seg]) {
        for s in loads {
            let mut p = floor(s.vaddr);
            while p < s.vaddr + s.memsz {
                let a = (bias + p) as *mut u8;
                // SAFETY: a mapped page of the segment, readable (PF_R on all here).
                let v = unsafe { std::ptr::read_volatile(a) };
                if s.prot & libc::PROT_WRITE != 0 {
                    // SAFETY: a writable page of the segment; the value is unchanged.
                    unsafe { std::ptr::write_volatile(a, v) };
                }
                p += PAGE;
            }
        }
    }
}

/// Paired timing for ratios on a busy machine: two operations timed in
/// alternating batches, so that load from other processes, which drifts over
/// seconds, falls on both alike.
/// The ratio table as an SVG chart.
pub mod chart;

pub mod paired {
    use std::time::Instant;

    /// Rounds per comparison; the result is the median over them.
    pub const ROUNDS: usize = 41;
    /// Target length of one batch, in nanoseconds.
    const BATCH_NS: f64 = 8e6;

    /// The outcome of one comparison.
    #[derive(Debug, Clone, Copy)]
    pub struct Ratio {
        /// Median nanoseconds per operation of `a`.
        pub a_ns: f64,
        /// Median nanoseconds per operation of `b`.
        pub b_ns: f64,
        /// Median over rounds of (time of `a`) / (time of `b`) within the round.
        pub ratio: f64,
        /// 10th and 90th percentile of the per-round ratio.
        pub spread: (f64, f64),
    }

    fn batch(f: &mut dyn FnMut(), n: u64) -> f64 {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        t.elapsed().as_secs_f64() * 1e9 / n as f64
    }

    fn count_for(f: &mut dyn FnMut()) -> u64 {
        let mut n = 1u64;
        loop {
            let per = batch(f, n);
            if per * n as f64 >= BATCH_NS / 4.0 || n >= 1 << 30 {
                return ((BATCH_NS / per.max(0.1)) as u64).max(1);
            }
            n *= 2;
        }
    }

    fn median(v: &mut [f64]) -> f64 {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }

    /// Time `a` against `b`: [`ROUNDS`] rounds, each one batch of `a` and one of
    /// `b` (about 8 ms each), the order swapped every round.
    pub fn compare(mut a: impl FnMut(), mut b: impl FnMut()) -> Ratio {
        let (na, nb) = (count_for(&mut a), count_for(&mut b));
        let (mut ta, mut tb, mut r) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            let (x, y) = if round % 2 == 0 {
                let x = batch(&mut a, na);
                (x, batch(&mut b, nb))
            } else {
                let y = batch(&mut b, nb);
                (batch(&mut a, na), y)
            };
            ta.push(x);
            tb.push(y);
            r.push(x / y);
        }
        let ratio = median(&mut r);
        let spread = (r[ROUNDS / 10], r[ROUNDS - 1 - ROUNDS / 10]);
        Ratio {
            a_ns: median(&mut ta),
            b_ns: median(&mut tb),
            ratio,
            spread,
        }
    }

    /// Nanoseconds as text with a unit.
    pub fn fmt_ns(ns: f64) -> String {
        if ns >= 1e6 {
            format!("{:.3} ms", ns / 1e6)
        } else if ns >= 1e3 {
            format!("{:.2} µs", ns / 1e3)
        } else {
            format!("{ns:.1} ns")
        }
    }

    /// One markdown row: case, a, b, their times, the ratio and its spread, and
    /// whether it meets `target` (a ratio bound, if the case has one).
    pub fn row(case: &str, a: &str, b: &str, r: &Ratio, target: Option<f64>) -> String {
        crate::chart::record(case, a, b, r.ratio, r.spread, target);
        let verdict = match target {
            Some(t) if r.ratio <= t => format!("≤ {t}: **met**"),
            Some(t) => format!("≤ {t}: **not met**"),
            None if r.ratio < 0.97 => "faster".into(),
            None if r.ratio <= 1.03 => "same (±3%)".into(),
            None => "**slower**".into(),
        };
        format!(
            "| {case} | {a} | {b} | {} | {} | {:.2} ({:.2}–{:.2}) | {verdict} |",
            fmt_ns(r.a_ns),
            fmt_ns(r.b_ns),
            r.ratio,
            r.spread.0,
            r.spread.1
        )
    }

    /// The header of the table [`row`] fills.
    pub const HEADER: &str = "| case | staticdl side (a) | compared with (b) | a, median | b, median | a / b, median of rounds (p10–p90) | target / verdict |\n| --- | --- | --- | ---: | ---: | ---: | --- |";
}
