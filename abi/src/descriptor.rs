//! The plugin descriptor: the one symbol a plugin exports to declare itself.
//!
//! Owns: [`PluginDescriptor`] (exported as [`DESCRIPTOR_SYMBOL`]), [`ExportDesc`],
//! [`Route`], the `init`/`fini` function types and their result codes, and the
//! constants that identify the contract ([`MAGIC`], [`ABI_VERSION`]).
//!
//! Does not own: checking a descriptor read from a loaded object (`validate.rs`) or
//! building one from Rust (`export.rs`, the [`plugin!`](crate::plugin) macro).

use core::ffi::c_void;

use crate::ffi::{AbiSlice, AbiStr, SyncPtr};
use crate::host::HostApi;

/// The version of this contract. A host accepts a plugin only with the same value.
///
/// It changes whenever a plugin built against the old contract could be
/// misunderstood by a host built against the new one (or the reverse): a field of a
/// `#[repr(C)]` type removed, moved, resized or given another meaning; a function
/// type changed; the signature grammar or a canonical type name changed; the meaning
/// of a result code changed. Appending a field at the end of [`HostApi`] or
/// [`PluginDescriptor`] does not change it: both carry their `size`, and readers
/// treat fields past `size` as absent.
pub const ABI_VERSION: u32 = 1;

/// The first eight bytes of every descriptor: `"staticdl"` in ASCII.
pub const MAGIC: [u8; 8] = *b"staticdl";

/// The name of the exported descriptor: `STATICDL_PLUGIN`.
pub const DESCRIPTOR_SYMBOL: &str = "STATICDL_PLUGIN";

/// `init(host) -> code`: called once by the host after loading and before any export
/// is used. `host` stays valid for as long as the plugin is loaded. Returns
/// [`INIT_OK`] or a non-zero code, in which case the host unloads the plugin without
/// calling `fini`.
pub type InitFn = unsafe extern "C" fn(host: *const HostApi) -> i32;

/// `fini()`: called once by the host before unloading, after the last call into the
/// plugin (and after `init` succeeded).
pub type FiniFn = unsafe extern "C" fn();

/// `init` succeeded.
pub const INIT_OK: i32 = 0;
/// `init` failed without a code of its own (a Rust init returned `Err(0)`).
pub const INIT_FAILED: i32 = -1;
/// `init` panicked.
pub const INIT_PANICKED: i32 = -2;
/// The host table was null, of another ABI version, or too small.
pub const INIT_BAD_HOST: i32 = -3;

/// One exported function (C: `staticdl_export`).
///
/// ```
/// use staticdl_abi::{signature_of, ExportDesc, FnSignature};
///
/// extern "C" fn add(a: i32, b: i32) -> i32 {
///     a + b
/// }
/// type Add = extern "C" fn(i32, i32) -> i32;
///
/// static EXPORTS: [ExportDesc; 1] =
///     [ExportDesc::new("add", signature_of::<Add>(), add as *const core::ffi::c_void)];
/// assert_eq!(EXPORTS[0].addr.get(), (add as Add).to_addr());
/// ```
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ExportDesc {
    /// The export's name, unique within the plugin; also its symbol name when the
    /// export was made by [`plugin!`](crate::plugin).
    pub name: AbiStr,
    /// Its canonical signature (see [`signature`](crate::signature)), e.g.
    /// `"fn(i32,i32)->i32"`.
    pub signature: AbiStr,
    /// The function's address; never null.
    pub addr: SyncPtr<c_void>,
}

impl ExportDesc {
    /// Describes the function at `addr`.
    pub const fn new(name: &'static str, signature: &'static str, addr: *const c_void) -> Self {
        Self {
            name: AbiStr::new(name),
            signature: AbiStr::new(signature),
            addr: SyncPtr::new(addr),
        }
    }
}

/// One HTTP route the plugin asks the host to mount (C: `staticdl_route`).
///
/// ```
/// use staticdl_abi::Route;
///
/// static ROUTES: [Route; 1] = [Route::new("GET", "/hello", "hello_handler")];
/// # let _ = &ROUTES;
/// ```
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Route {
    /// The HTTP method, e.g. `"GET"`; never empty.
    pub method: AbiStr,
    /// The path, starting with `/`. How paths match requests is up to the server
    /// that mounts the route.
    pub path: AbiStr,
    /// The name of an export whose signature is
    /// [`HANDLER_SIGNATURE`](crate::HANDLER_SIGNATURE).
    pub handler: AbiStr,
}

impl Route {
    /// A route sending `method path` to the export called `handler`.
    pub const fn new(method: &'static str, path: &'static str, handler: &'static str) -> Self {
        Self {
            method: AbiStr::new(method),
            path: AbiStr::new(path),
            handler: AbiStr::new(handler),
        }
    }
}

/// The descriptor a plugin exports as [`DESCRIPTOR_SYMBOL`] (C: `staticdl_plugin`).
///
/// Every pointer in it points into the plugin's own read-only data and stays valid
/// for as long as the plugin is loaded. Hosts read it through
/// [`PluginDescriptor::from_ptr`], which checks the fixed header before anything
/// else, then [`PluginDescriptor::validate`].
///
/// Plugins normally get one from [`plugin!`](crate::plugin); by hand it looks like:
///
/// ```
/// use staticdl_abi::{PluginDescriptor, Route};
///
/// #[unsafe(no_mangle)]
/// pub static STATICDL_PLUGIN: PluginDescriptor =
///     PluginDescriptor::new("hello", "1.0.0", &[], &[], None, None);
/// assert!(STATICDL_PLUGIN.check_header().is_ok());
/// ```
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PluginDescriptor {
    /// [`MAGIC`].
    pub magic: [u8; 8],
    /// [`ABI_VERSION`] of the plugin.
    pub abi_version: u32,
    /// `size_of::<PluginDescriptor>()` as the plugin compiled it.
    pub size: u32,
    /// The plugin's name (UTF-8).
    pub name: AbiStr,
    /// The plugin's version (UTF-8, free-form; semver recommended).
    pub version: AbiStr,
    /// The exported functions.
    pub exports: AbiSlice<ExportDesc>,
    /// Called once after loading, before any export; optional.
    pub init: Option<InitFn>,
    /// Called once before unloading; optional.
    pub fini: Option<FiniFn>,
    /// The HTTP routes to mount; may be empty.
    pub routes: AbiSlice<Route>,
}

impl PluginDescriptor {
    /// A descriptor of this ABI version.
    pub const fn new(
        name: &'static str,
        version: &'static str,
        exports: &'static [ExportDesc],
        routes: &'static [Route],
        init: Option<InitFn>,
        fini: Option<FiniFn>,
    ) -> Self {
        Self {
            magic: MAGIC,
            abi_version: ABI_VERSION,
            size: core::mem::size_of::<Self>() as u32,
            name: AbiStr::new(name),
            version: AbiStr::new(version),
            exports: AbiSlice::from_static(exports),
            init,
            fini,
            routes: AbiSlice::from_static(routes),
        }
    }
}
