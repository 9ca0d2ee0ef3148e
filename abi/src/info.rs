//! Views of a validated descriptor: what [`PluginDescriptor::validate`] hands out,
//! needing no further checks.
//!
//! Owns [`PluginInfo`] (name, version, `init`/`fini`, exports and routes),
//! [`Export`] (one export, turned into a typed function pointer only when its
//! declared signature matches) and [`RouteInfo`]. Does not own the checks that make
//! them trustworthy (`validate.rs`); only that file constructs a [`PluginInfo`].
//!
//! [`PluginDescriptor::validate`]: crate::PluginDescriptor::validate
//!
//! Unsafe code is allowed in this module: validated descriptor views read the plugin's
//! tables through the pointers the descriptor holds.
#![allow(unsafe_code)]

use core::ffi::c_void;

use crate::descriptor::{ExportDesc, FiniFn, InitFn, Route};
use crate::ffi::AbiStr;
use crate::signature::{check_signature, FnSignature, SignatureMismatch};

/// Reads a descriptor string that `validate` already checked.
///
/// # Safety
/// `s` must belong to a descriptor that passed [`PluginDescriptor::validate`] and is
/// still unchanged.
pub(crate) unsafe fn trusted_str(s: &AbiStr) -> &str {
    // SAFETY: validated as readable UTF-8; the caller vouches that it is unchanged.
    unsafe { s.as_str_unchecked() }
}

/// A validated descriptor (see [`PluginDescriptor::validate`](crate::PluginDescriptor::validate)).
#[derive(Clone, Copy, Debug)]
pub struct PluginInfo<'a> {
    name: &'a str,
    version: &'a str,
    exports: &'a [ExportDesc],
    routes: &'a [Route],
    init: Option<InitFn>,
    fini: Option<FiniFn>,
}

impl<'a> PluginInfo<'a> {
    /// The views of a descriptor whose strings and tables `validate` checked.
    pub(crate) fn trusted(
        name: &'a str,
        version: &'a str,
        exports: &'a [ExportDesc],
        routes: &'a [Route],
        init: Option<InitFn>,
        fini: Option<FiniFn>,
    ) -> Self {
        Self {
            name,
            version,
            exports,
            routes,
            init,
            fini,
        }
    }

    /// The plugin's name.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The plugin's version string.
    pub fn version(&self) -> &'a str {
        self.version
    }

    /// The plugin's `init`, to be called once with the host table before any export.
    pub fn init(&self) -> Option<InitFn> {
        self.init
    }

    /// The plugin's `fini`, to be called once before unloading.
    pub fn fini(&self) -> Option<FiniFn> {
        self.fini
    }

    /// The exports, in declaration order.
    pub fn exports(&self) -> impl ExactSizeIterator<Item = Export<'a>> + use<'a> {
        self.exports.iter().map(Export::trusted)
    }

    /// The export called `name`.
    pub fn export(&self, name: &str) -> Option<Export<'a>> {
        self.exports().find(|e| e.name == name)
    }

    /// The routes, in declaration order, with their handler exports resolved.
    pub fn routes(&self) -> impl ExactSizeIterator<Item = RouteInfo<'a>> + use<'a> {
        let info = *self;
        self.routes.iter().map(move |route| {
            // SAFETY: `validate` checked every route string.
            let (method, path, handler) = unsafe {
                (
                    trusted_str(&route.method),
                    trusted_str(&route.path),
                    trusted_str(&route.handler),
                )
            };
            let handler = info
                .export(handler)
                .expect("validate checked that every route handler is exported");
            RouteInfo {
                method,
                path,
                handler,
            }
        })
    }
}

/// One validated export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Export<'a> {
    name: &'a str,
    signature: &'a str,
    addr: *const c_void,
}

impl<'a> Export<'a> {
    fn trusted(desc: &'a ExportDesc) -> Self {
        // SAFETY: `Export`s are only made from descriptors that passed `validate`.
        let (name, signature) = unsafe { (trusted_str(&desc.name), trusted_str(&desc.signature)) };
        Self {
            name,
            signature,
            addr: desc.addr.get(),
        }
    }

    /// The export's name.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// Its declared signature.
    pub fn signature(&self) -> &'a str {
        self.signature
    }

    /// Its address (never null).
    pub fn addr(&self) -> *const c_void {
        self.addr
    }

    /// Checks the declared signature against `F`.
    pub fn check<F: FnSignature>(&self) -> Result<(), SignatureMismatch<'a>> {
        check_signature::<F>(self.signature)
    }

    /// The export as a function pointer of type `F`, if its declared signature is
    /// `F`'s.
    ///
    /// ```
    /// use staticdl_abi::{ExportDesc, FnSignature, PluginDescriptor};
    ///
    /// extern "C" fn twice(x: i32) -> i32 {
    ///     2 * x
    /// }
    /// type Twice = extern "C" fn(i32) -> i32;
    /// static EXPORTS: [ExportDesc; 1] =
    ///     [ExportDesc::new("twice", <Twice as FnSignature>::SIGNATURE, twice as *const core::ffi::c_void)];
    /// static DESC: PluginDescriptor = PluginDescriptor::new("p", "1", &EXPORTS, &[], None, None);
    ///
    /// // SAFETY: `DESC` is static and truthful.
    /// let info = unsafe { DESC.validate() }.unwrap();
    /// let export = info.export("twice").unwrap();
    /// // SAFETY: the function is part of this program and never unloaded.
    /// let f = unsafe { export.get::<Twice>() }.unwrap();
    /// assert_eq!(f(21), 42);
    /// // SAFETY: as above (and it is refused anyway).
    /// assert!(unsafe { export.get::<extern "C" fn(i64) -> i32>() }.is_err());
    /// ```
    ///
    /// # Safety
    /// The plugin's declaration must be truthful (the function really has the
    /// declared signature), and the result must not be called after the plugin is
    /// unloaded.
    pub unsafe fn get<F: FnSignature>(&self) -> Result<F, SignatureMismatch<'a>> {
        self.check::<F>()?;
        // SAFETY: the signature matches `F` and the caller vouches that the
        // declaration is truthful and the code stays mapped while `F` is used.
        Ok(unsafe { F::from_addr(self.addr) })
    }
}

/// One validated route, with its handler export resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteInfo<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The path (starts with `/`).
    pub path: &'a str,
    /// The handler export; its signature is
    /// [`HANDLER_SIGNATURE`](crate::HANDLER_SIGNATURE).
    pub handler: Export<'a>,
}

#[cfg(feature = "http")]
impl RouteInfo<'_> {
    /// The handler as a function pointer (feature `http`).
    ///
    /// # Safety
    /// As for [`Export::get`].
    pub unsafe fn handler_fn(&self) -> crate::HandlerFn {
        // SAFETY: `validate` checked the signature; the rest is the caller's promise.
        unsafe { crate::HandlerFn::from_addr(self.handler.addr) }
    }
}
