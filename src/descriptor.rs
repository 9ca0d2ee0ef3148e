//! A loaded plugin's `STATICDL_PLUGIN` descriptor, read once and kept as owned
//! data.
//!
//! Owns [`Descriptor`], [`ExportDecl`] and [`RouteDecl`] (what a plugin declared:
//! name, version, exports with their signatures, HTTP routes) and
//! [`Descriptor::from_library`], which reads the descriptor out of a loaded object
//! without running any of its code: every pointer is checked to lie in readable
//! memory of the object before it is followed, then `staticdl_abi` validates the
//! contents. It does not call `init`/`fini` (the plugin does, in `plugin.rs`) or
//! decide what a mismatch means for a lookup.
//!
//! Unsafe code is allowed in this module: it reads a plugin's descriptor from the
//! address the loader found, through the ABI crate's validating views.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::mem::{align_of, size_of};

use staticdl_abi::{
    AbiStr, DescriptorError, ExportDesc, FiniFn, InitFn, PluginDescriptor, Route, ABI_VERSION,
    DESCRIPTOR_SYMBOL, MAGIC,
};
use staticdl_loader::{Library, SymbolName};

use crate::error::OpenError;

const DESCRIPTOR: SymbolName<'static> = SymbolName::new(DESCRIPTOR_SYMBOL);

/// What a plugin declared about itself in its `STATICDL_PLUGIN` descriptor.
///
/// ```no_run
/// let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
/// if let Some(d) = plugin.descriptor() {
///     println!("{} {}", d.name(), d.version());
///     for e in d.exports() {
///         println!("  {}: {}", e.name(), e.signature());
///     }
///     for r in d.routes() {
///         println!("  {} {} -> {}", r.method(), r.path(), r.handler());
///     }
/// }
/// # Ok::<(), staticdl::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    name: String,
    version: String,
    abi_version: u32,
    exports: Vec<ExportDecl>,
    routes: Vec<RouteDecl>,
}

/// One exported function as the descriptor declares it.
///
/// ```no_run
/// let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
/// let add = plugin.descriptor().and_then(|d| d.export("add")).expect("declared");
/// assert_eq!(add.signature(), "fn(i32,i32)->i32");
/// # Ok::<(), staticdl::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportDecl {
    name: String,
    signature: String,
    addr: usize,
}

/// One HTTP route as the descriptor declares it.
///
/// ```no_run
/// let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
/// let route = plugin.descriptor().and_then(|d| d.route("GET", "/hello")).expect("declared");
/// assert_eq!(route.handler(), "hello_handler");
/// # Ok::<(), staticdl::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteDecl {
    method: String,
    path: String,
    handler: String,
}

/// A descriptor with the entry points the facade calls.
pub(crate) struct Read {
    pub info: Descriptor,
    pub init: Option<InitFn>,
    pub fini: Option<FiniFn>,
}

impl Descriptor {
    /// The plugin's declared name.
    ///
    /// ```no_run
    /// # let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
    /// assert_eq!(plugin.descriptor().unwrap().name(), "hello");
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The plugin's declared version (free-form text).
    ///
    /// ```no_run
    /// # let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
    /// println!("{}", plugin.descriptor().unwrap().version());
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The plugin ABI version the descriptor was built for (always
    /// [`staticdl_abi::ABI_VERSION`] for a descriptor that was accepted).
    ///
    /// ```no_run
    /// # let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
    /// assert_eq!(plugin.descriptor().unwrap().abi_version(), staticdl::abi::ABI_VERSION);
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn abi_version(&self) -> u32 {
        self.abi_version
    }

    /// The declared exports, in declaration order.
    ///
    /// ```no_run
    /// # let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
    /// let names: Vec<&str> = plugin.descriptor().unwrap().exports().iter().map(|e| e.name()).collect();
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn exports(&self) -> &[ExportDecl] {
        &self.exports
    }

    /// The declared export called `name`.
    ///
    /// ```no_run
    /// # let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
    /// assert!(plugin.descriptor().unwrap().export("add").is_some());
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn export(&self, name: &str) -> Option<&ExportDecl> {
        self.exports.iter().find(|e| e.name == name)
    }

    /// The declared routes, in declaration order.
    ///
    /// ```no_run
    /// # let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
    /// for r in plugin.descriptor().unwrap().routes() {
    ///     println!("{} {}", r.method(), r.path());
    /// }
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn routes(&self) -> &[RouteDecl] {
        &self.routes
    }

    /// The first route declared for `method` and `path` (compared exactly).
    ///
    /// ```no_run
    /// # let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
    /// let r = plugin.descriptor().unwrap().route("GET", "/hello").unwrap();
    /// println!("handled by {}", r.handler());
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn route(&self, method: &str, path: &str) -> Option<&RouteDecl> {
        self.routes
            .iter()
            .find(|r| r.method == method && r.path == path)
    }

    /// Reads and validates the `STATICDL_PLUGIN` descriptor of `lib`, running none
    /// of its code: `Ok(None)` if the object exports no descriptor (a plain
    /// library).
    ///
    /// Every address in the descriptor is checked to lie inside readable memory of
    /// `lib` before it is read, so this is also how an object loaded without
    /// running code (`LoadOptions::run_code(false)`) is inspected. A plugin built
    /// for another ABI version is reported as [`OpenError::AbiVersion`] before any
    /// field past the fixed header is read.
    ///
    /// ```no_run
    /// use staticdl_loader::{LoadOptions, Namespace};
    /// let ns = Namespace::new();
    /// let lib = ns.load("/opt/plugins/libhello.so", &LoadOptions::new().run_code(false)).unwrap();
    /// match staticdl::Descriptor::from_library(&lib) {
    ///     Ok(Some(d)) => println!("plugin {} {}", d.name(), d.version()),
    ///     Ok(None) => println!("a plain library"),
    ///     Err(e) => println!("broken plugin: {e}"),
    /// }
    /// ```
    pub fn from_library(lib: &Library) -> Result<Option<Descriptor>, OpenError> {
        Ok(read(lib)?.map(|r| r.info))
    }
}

impl ExportDecl {
    /// The export's name.
    ///
    /// ```no_run
    /// # let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
    /// assert_eq!(plugin.descriptor().unwrap().exports()[0].name(), "add");
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its declared signature in the canonical form, e.g. `fn(i32,i32)->i32`.
    ///
    /// ```no_run
    /// # let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
    /// println!("{}", plugin.descriptor().unwrap().exports()[0].signature());
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn signature(&self) -> &str {
        &self.signature
    }

    pub(crate) fn addr(&self) -> usize {
        self.addr
    }
}

impl RouteDecl {
    /// The HTTP method, e.g. `GET`.
    ///
    /// ```no_run
    /// # let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
    /// assert_eq!(plugin.descriptor().unwrap().routes()[0].method(), "GET");
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The path, starting with `/`.
    ///
    /// ```no_run
    /// # let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
    /// assert!(plugin.descriptor().unwrap().routes()[0].path().starts_with('/'));
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The name of the export that handles it (its signature is
    /// [`staticdl_abi::HANDLER_SIGNATURE`], checked when the plugin was opened).
    ///
    /// ```no_run
    /// # let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
    /// println!("{}", plugin.descriptor().unwrap().routes()[0].handler());
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn handler(&self) -> &str {
        &self.handler
    }
}

fn broken(what: impl Into<String>) -> OpenError {
    OpenError::Descriptor(what.into())
}

/// Whether a `ptr`/`len` view of `elem`-sized items lies in readable memory of
/// `lib` (the empty view always does).
fn readable(lib: &Library, ptr: *const u8, len: usize, elem: usize) -> bool {
    if len == 0 {
        return true;
    }
    len.checked_mul(elem)
        .is_some_and(|bytes| lib.is_readable(ptr as usize, bytes))
}

fn readable_str(lib: &Library, s: &AbiStr) -> bool {
    readable(lib, s.as_ptr(), s.len(), 1)
}

/// Reads the descriptor of `lib`, with its `init` and `fini`.
pub(crate) fn read(lib: &Library) -> Result<Option<Read>, OpenError> {
    let Some(addr) = lib.lookup_here(&DESCRIPTOR) else {
        return Ok(None);
    };
    let addr = addr.as_ptr() as usize;
    // The fixed header: magic, ABI version, size. Same in every ABI version.
    const HEADER: usize = 16;
    if addr % align_of::<PluginDescriptor>() != 0 || !lib.is_readable(addr, HEADER) {
        return Err(broken(format!(
            "{DESCRIPTOR_SYMBOL} is not an aligned, readable object of the plugin"
        )));
    }
    // SAFETY: 16 readable bytes at `addr` (checked just above), part of `lib`,
    // which stays mapped for the borrow.
    let (magic, abi_version) = unsafe {
        let p = addr as *const u8;
        (
            std::ptr::read_unaligned(p.cast::<[u8; 8]>()),
            std::ptr::read_unaligned(p.add(8).cast::<u32>()),
        )
    };
    if magic != MAGIC {
        return Err(broken(
            DescriptorError::BadMagic { found: magic }.to_string(),
        ));
    }
    if abi_version != ABI_VERSION {
        return Err(OpenError::AbiVersion {
            found: abi_version,
            supported: ABI_VERSION,
        });
    }
    if !lib.is_readable(addr, size_of::<PluginDescriptor>()) {
        return Err(broken(format!(
            "{DESCRIPTOR_SYMBOL} extends past the plugin's readable memory"
        )));
    }
    // SAFETY: aligned, and `size_of::<PluginDescriptor>()` bytes are readable in
    // `lib` (checked above); nothing of the plugin runs while we read it, or the
    // plugin, whose code the caller chose to run, keeps its descriptor unchanged
    // (the contract of `STATICDL_PLUGIN`).
    let desc = unsafe { PluginDescriptor::from_ptr(addr as *const c_void) }
        .map_err(|e| broken(e.to_string()))?;
    check_memory(lib, desc)?;
    let in_object = |f: Option<usize>| f.is_none_or(|a| lib.contains(a));
    if !in_object(desc.init.map(|f| f as usize)) || !in_object(desc.fini.map(|f| f as usize)) {
        return Err(broken("init or fini does not lie in the plugin"));
    }
    // SAFETY: every string and table the descriptor points to lies in readable
    // memory of `lib` (`check_memory`), which stays mapped for this borrow.
    let info = unsafe { desc.validate() }.map_err(|e| match e {
        DescriptorError::AbiVersion { found } => OpenError::AbiVersion {
            found,
            supported: ABI_VERSION,
        },
        other => broken(other.to_string()),
    })?;
    let descriptor = Descriptor {
        name: info.name().to_owned(),
        version: info.version().to_owned(),
        abi_version,
        exports: info
            .exports()
            .map(|e| ExportDecl {
                name: e.name().to_owned(),
                signature: e.signature().to_owned(),
                addr: e.addr() as usize,
            })
            .collect(),
        routes: info
            .routes()
            .map(|r| RouteDecl {
                method: r.method.to_owned(),
                path: r.path.to_owned(),
                handler: r.handler.name().to_owned(),
            })
            .collect(),
    };
    Ok(Some(Read {
        info: descriptor,
        init: info.init(),
        fini: info.fini(),
    }))
}

/// Checks that every string and table of `desc` lies in readable memory of `lib`.
fn check_memory(lib: &Library, desc: &PluginDescriptor) -> Result<(), OpenError> {
    let outside = |what: &str| broken(format!("{what} points outside the plugin's memory"));
    if !readable_str(lib, &desc.name) {
        return Err(outside("name"));
    }
    if !readable_str(lib, &desc.version) {
        return Err(outside("version"));
    }
    let exports = &desc.exports;
    if !exports.is_plausible()
        || !readable(
            lib,
            exports.as_ptr().cast(),
            exports.len(),
            size_of::<ExportDesc>(),
        )
    {
        return Err(outside("the exports table"));
    }
    // SAFETY: plausible (aligned, sized) and readable in `lib` (checked above).
    for (i, e) in unsafe { exports.as_slice() }.iter().enumerate() {
        if !readable_str(lib, &e.name) || !readable_str(lib, &e.signature) {
            return Err(outside(&format!("export #{i}")));
        }
    }
    let routes = &desc.routes;
    if !routes.is_plausible()
        || !readable(
            lib,
            routes.as_ptr().cast(),
            routes.len(),
            size_of::<Route>(),
        )
    {
        return Err(outside("the routes table"));
    }
    // SAFETY: as for the exports.
    for (i, r) in unsafe { routes.as_slice() }.iter().enumerate() {
        if !readable_str(lib, &r.method)
            || !readable_str(lib, &r.path)
            || !readable_str(lib, &r.handler)
        {
            return Err(outside(&format!("route #{i}")));
        }
    }
    Ok(())
}
