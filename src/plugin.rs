//! An opened plugin: its handle, its life cycle and its lookups.
//!
//! Owns [`Plugin`] (a cheap, shareable handle; the last one to go runs the
//! plugin's `fini` and lets the loader unload it), the state one loaded plugin
//! shares between its handles, typed lookups checked against the declared
//! signatures, unsafe lookups of plain C symbols, and the diagnostics. It does not
//! open or load anything (`open.rs` does: `Plugin::open`, `Plugin::options`,
//! `Plugin::retry` are defined there), decide whether to load or wait (the
//! registry does), parse descriptors (`descriptor.rs`) or call handlers
//! (`http.rs`).
//!
//! Unsafe code is allowed in this module: lookups turn checked addresses into typed
//! values, and the last handle calls the plugin's `fini`.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::Arc;

use staticdl_abi::{FiniFn, FnSignature};
use staticdl_loader::Library;

use crate::descriptor::Descriptor;
use crate::error::Error;
use crate::registry::Lease;
use crate::symbol::Symbol;

/// A loaded plugin (or plain shared library).
///
/// Opening the same file again — by the same path, another path, or a symlink —
/// returns a handle to the same plugin; its `init` ran once. Clones are cheap
/// (an `Arc`). When the last handle goes (dropped, or [`Plugin::close`]d), the
/// plugin's `fini` runs, then its ELF finalisers, and it is unmapped — unless it
/// was opened with [`OpenOptions::keep_loaded`](crate::OpenOptions::keep_loaded).
///
/// # Trust
///
/// What the caller trusts: the file. Opening a plugin runs its code (ELF
/// initialisers, then the descriptor's `init`), like running a program, and its
/// descriptor's declarations are taken as true. Only open files you trust. No
/// check could stand in for that trust, so [`Plugin::open`] is safe, as
/// `std::process::Command::spawn` is: marking it `unsafe` would add no obligation
/// a caller could discharge beyond "I trust this file".
///
/// What safe code is guaranteed in exchange:
/// - staticdl itself never calls unmapped code: a looked-up function is called
///   through a [`Symbol`] that borrows the handle (and a handler's response is
///   read through a `Reply` that does), so the plugin cannot be unloaded under
///   the call; no function pointer leaves a `Symbol` without `unsafe`;
/// - a typed lookup ([`Plugin::get`]) is checked against the signature the plugin
///   declared for that export, and refused on any difference.
///
/// Lookups of plain C symbols ([`Plugin::symbol`]) have no declaration to check
/// against and are `unsafe`: there the caller vouches for the type.
///
/// ```no_run
/// use staticdl::Plugin;
///
/// let plugin = Plugin::open("/opt/plugins/libhello.so")?;
/// // A function declared in the plugin's descriptor: the type is checked.
/// let add = plugin.get::<extern "C" fn(i32, i32) -> i32>("add")?;
/// assert_eq!(add.call(2, 3), 5);
/// // A plain C symbol: the caller vouches for the type.
/// // SAFETY: `hello_count` is an `unsigned int` in the plugin.
/// let count = unsafe { plugin.symbol::<*const u32>("hello_count")? };
/// println!("{}", unsafe { **count });
/// plugin.close();
/// # Ok::<(), staticdl::Error>(())
/// ```
#[derive(Clone)]
pub struct Plugin {
    pub(crate) inner: Arc<Inner>,
}

/// The shared state of one loaded plugin.
pub(crate) struct Inner {
    requested: PathBuf,
    path: PathBuf,
    descriptor: Option<Descriptor>,
    /// The descriptor's `fini`; set only when `init` succeeded (or there was none).
    fini: Option<FiniFn>,
    /// Dropped after `Drop::drop` ran `fini`: runs the ELF finalisers and unmaps
    /// (when this is the last handle to the object).
    lib: Library,
    /// Dropped last: tells the registry the plugin is gone, so a waiting open
    /// loads it afresh.
    lease: Lease,
}

impl Inner {
    /// The state of a plugin that is loaded and initialised: `fini` is its
    /// descriptor's `fini` if `init` succeeded (or there was none).
    pub(crate) fn new(
        requested: PathBuf,
        path: PathBuf,
        descriptor: Option<Descriptor>,
        fini: Option<FiniFn>,
        lib: Library,
        lease: Lease,
    ) -> Self {
        Inner {
            requested,
            path,
            descriptor,
            fini,
            lib,
            lease,
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.lease.closing();
        if let Some(fini) = self.fini.take() {
            // SAFETY: `init` succeeded (or the plugin has none), no handle is left
            // that could call into the plugin, and it is still mapped: `lib` is
            // dropped after this function returns.
            unsafe { fini() };
        }
    }
}

impl Plugin {
    /// Gives up this handle. If it was the last one (and the plugin was not opened
    /// with [`OpenOptions::keep_loaded`](crate::OpenOptions::keep_loaded)), the plugin's `fini` and ELF finalisers
    /// run and it is unmapped before this returns; the result says whether that
    /// happened.
    ///
    /// ```no_run
    /// let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
    /// assert!(plugin.close());
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn close(self) -> bool {
        Arc::into_inner(self.inner).is_some()
    }

    /// The plugin's canonical path.
    ///
    /// ```no_run
    /// let plugin = staticdl::Plugin::open("plugins/libhello.so")?;
    /// assert!(plugin.path().is_absolute());
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The path as passed by the open that loaded the plugin.
    ///
    /// ```no_run
    /// let plugin = staticdl::Plugin::open("plugins/libhello.so")?;
    /// println!("{}", plugin.requested_path().display());
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn requested_path(&self) -> &Path {
        &self.inner.requested
    }

    /// The object's `DT_SONAME`, if it has one.
    ///
    /// ```no_run
    /// let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
    /// assert_eq!(plugin.soname(), Some("libhello.so"));
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn soname(&self) -> Option<&str> {
        self.inner.lib.soname()
    }

    /// Where the object is mapped: start address and length in bytes.
    ///
    /// ```no_run
    /// let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
    /// let (start, len) = plugin.address_range();
    /// println!("{start:#x}..{:#x}", start + len);
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn address_range(&self) -> (usize, usize) {
        self.inner.lib.address_range()
    }

    /// The object's `DT_NEEDED` names, in order.
    ///
    /// ```no_run
    /// let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
    /// for dep in plugin.dependencies() {
    ///     println!("needs {dep}");
    /// }
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn dependencies(&self) -> Vec<String> {
        self.inner.lib.needed()
    }

    /// The names of the dynamic symbols the object defines and exports.
    ///
    /// ```no_run
    /// let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
    /// assert!(plugin.exports().iter().any(|s| s == "STATICDL_PLUGIN"));
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn exports(&self) -> Vec<String> {
        self.inner.lib.exports()
    }

    /// What the plugin declared in its `STATICDL_PLUGIN` descriptor; `None` for a
    /// plain library.
    ///
    /// ```no_run
    /// let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
    /// if let Some(d) = plugin.descriptor() {
    ///     println!("{} {} ({} exports)", d.name(), d.version(), d.exports().len());
    /// }
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn descriptor(&self) -> Option<&Descriptor> {
        self.inner.descriptor.as_ref()
    }

    /// The loader's handle to the object, for lower-level inspection. A clone of it
    /// keeps the object mapped (but not the plugin initialised) after the last
    /// `Plugin` handle is gone.
    ///
    /// ```no_run
    /// let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
    /// assert!(plugin.library().contains(plugin.address_range().0));
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn library(&self) -> &Library {
        &self.inner.lib
    }

    /// Whether two handles refer to the same opened plugin.
    ///
    /// ```no_run
    /// let a = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
    /// let b = a.clone();
    /// assert!(staticdl::Plugin::same(&a, &b));
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn same(a: &Plugin, b: &Plugin) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }

    /// A function the plugin exports through its descriptor, as type `F`, after
    /// checking `F`'s signature against the declared one.
    ///
    /// `F` is an `extern "C" fn` (or `unsafe extern "C" fn`) of up to six
    /// arguments of the ABI's types. The returned [`Symbol`] borrows the plugin;
    /// call it with `call` (safe for an `extern "C" fn`, `unsafe` for an
    /// `unsafe extern "C" fn`), which cannot outlive the plugin.
    ///
    /// Safe because of what is checked: the name is declared in the plugin's
    /// `STATICDL_PLUGIN` descriptor, its declared signature is exactly `F`'s, and
    /// its address lies in the plugin. What is trusted is the declaration itself:
    /// a plugin that declares `fn(i32,i32)->i32` for a function of another type, or
    /// a safe signature for a function with preconditions, breaks the contract it
    /// was opened under (see [Trust](Plugin#trust)). Declare such functions
    /// `unsafe extern "C" fn`, and look them up with that type.
    ///
    /// # Errors
    /// [`Error::NoDescriptor`] for a plain library, [`Error::NotExported`] for a
    /// name the descriptor does not declare, [`Error::SignatureMismatch`] when `F`
    /// is not the declared signature.
    ///
    /// ```no_run
    /// let plugin = staticdl::Plugin::open("/opt/plugins/libhello.so")?;
    /// let add = plugin.get::<extern "C" fn(i32, i32) -> i32>("add")?;
    /// assert_eq!(add.call(40, 2), 42);
    /// let wrong = plugin.get::<extern "C" fn(i64, i64) -> i64>("add");
    /// assert!(matches!(wrong, Err(staticdl::Error::SignatureMismatch { .. })));
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn get<F: FnSignature>(&self, name: &str) -> Result<Symbol<'_, F>, Error> {
        let Some(descriptor) = self.descriptor() else {
            return Err(Error::NoDescriptor {
                path: self.path().to_path_buf(),
                name: name.to_owned(),
            });
        };
        let Some(export) = descriptor.export(name) else {
            return Err(Error::NotExported {
                path: self.path().to_path_buf(),
                name: name.to_owned(),
            });
        };
        if let Err(m) = staticdl_abi::compare_signatures(F::SIGNATURE, export.signature()) {
            return Err(Error::SignatureMismatch {
                name: name.to_owned(),
                expected: m.expected.to_owned(),
                found: m.found.to_owned(),
            });
        }
        // An intercepted export is handed out as its stub, which goes to it.
        let addr = crate::intercept::exported(self.library(), export.addr());
        // SAFETY: the plugin declared this export with exactly `F`'s signature and
        // the C calling convention (checked just above); the address was
        // validated as non-null with the descriptor (or is the stub that jumps
        // to it, valid while the plugin is loaded). The `Symbol` borrows the
        // plugin, so the code stays mapped while it is used through it.
        let f = unsafe { F::from_addr(addr as *const c_void) };
        Ok(Symbol::new(f))
    }

    /// The symbol `name` (or `name@VERSION`) of the object or its dependencies,
    /// searched breadth-first as `dlsym` does, as a value of type `T`: a function
    /// pointer for a function, a raw pointer for data.
    ///
    /// # Safety
    /// `T` must be the symbol's real type: for a function, an `extern "C" fn`
    /// pointer with its exact signature; for data, a raw pointer to its type
    /// (`*const u32`, `*mut Config`), never a reference. `T` must be pointer-sized
    /// (checked at compile time). Pointers copied out of the [`Symbol`] (a data
    /// symbol's pointer, [`Symbol::as_raw`]) must not be used after the plugin is
    /// unloaded.
    ///
    /// ```no_run
    /// let plugin = staticdl::Plugin::open("/opt/plugins/libbasic.so")?;
    /// // SAFETY: `int basic_add(int, int)` and `int basic_counter` in the plugin.
    /// unsafe {
    ///     let add = plugin.symbol::<extern "C" fn(i32, i32) -> i32>("basic_add")?;
    ///     assert_eq!(add.call(2, 3), 5);
    ///     let counter = plugin.symbol::<*const i32>("basic_counter")?;
    ///     println!("{}", **counter);
    /// }
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub unsafe fn symbol<T: Copy>(&self, name: &str) -> Result<Symbol<'_, T>, Error> {
        const {
            assert!(
                std::mem::size_of::<T>() == std::mem::size_of::<usize>(),
                "Plugin::symbol needs a pointer-sized type (a function or raw pointer)"
            )
        };
        let addr = self
            .symbol_address(name)
            .ok_or_else(|| Error::SymbolNotFound {
                path: self.path().to_path_buf(),
                name: name.to_owned(),
            })?;
        // SAFETY: `T` is pointer-sized (asserted above) and the caller vouches that
        // it is the symbol's real type, of which this address is a valid value.
        let value = unsafe { std::mem::transmute_copy::<*mut c_void, T>(&addr.as_ptr()) };
        Ok(Symbol::new(value))
    }

    /// The address of `name` (or `name@VERSION`) in the object or its
    /// dependencies, if anything defines it. Valid while the plugin is loaded.
    ///
    /// ```no_run
    /// let plugin = staticdl::Plugin::open("/opt/plugins/libbasic.so")?;
    /// assert!(plugin.symbol_address("basic_add").is_some());
    /// # Ok::<(), staticdl::Error>(())
    /// ```
    pub fn symbol_address(&self, name: &str) -> Option<NonNull<c_void>> {
        let addr = self.inner.lib.symbol(name)?.as_ptr() as usize;
        NonNull::new(crate::intercept::exported(self.library(), addr) as *mut c_void)
    }
}

impl PartialEq for Plugin {
    fn eq(&self, other: &Self) -> bool {
        Plugin::same(self, other)
    }
}

impl Eq for Plugin {}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (start, len) = self.address_range();
        let mut d = f.debug_struct("Plugin");
        d.field("path", &self.path());
        if let Some(desc) = self.descriptor() {
            d.field("name", &desc.name())
                .field("version", &desc.version());
        }
        d.field("range", &format_args!("{start:#x}..{:#x}", start + len))
            .finish()
    }
}
