//! The host's reading of a descriptor: check everything once, then hand out typed
//! views that need no further checks.
//!
//! Owns: [`PluginDescriptor::from_ptr`], [`PluginDescriptor::check_header`],
//! [`PluginDescriptor::validate`] and [`DescriptorError`].
//!
//! Does not own: the views it hands out ([`PluginInfo`] and friends, `info.rs`),
//! finding the descriptor (the loader's symbol lookup), calling `init` / `fini` at
//! the right time, or keeping the plugin loaded while views and function pointers
//! are in use — all the facade's job.
//!
//! Unsafe code is allowed in this module: a descriptor is read from an address the host
//! found in a loaded object, field by field, before anything of it is trusted.
#![allow(unsafe_code)]

use core::ffi::c_void;
use core::fmt;

use crate::descriptor::{PluginDescriptor, ABI_VERSION, MAGIC};
use crate::ffi::AbiStr;
use crate::info::{trusted_str, PluginInfo};
use crate::signature::{
    compare_signatures, Signature, SignatureError, SignatureMismatch, HANDLER_SIGNATURE,
};

/// The part of a descriptor that is the same in every ABI version.
#[repr(C)]
struct FixedHeader {
    magic: [u8; 8],
    abi_version: u32,
    size: u32,
}

/// The size of the first version of [`PluginDescriptor`]; a smaller one is rejected.
pub const DESCRIPTOR_MIN_SIZE: u32 = core::mem::size_of::<PluginDescriptor>() as u32;

fn check_fixed(
    magic: [u8; 8],
    abi_version: u32,
    size: u32,
) -> Result<(), DescriptorError<'static>> {
    if magic != MAGIC {
        return Err(DescriptorError::BadMagic { found: magic });
    }
    if abi_version != ABI_VERSION {
        return Err(DescriptorError::AbiVersion { found: abi_version });
    }
    if size < DESCRIPTOR_MIN_SIZE {
        return Err(DescriptorError::TooSmall { size });
    }
    Ok(())
}

impl PluginDescriptor {
    /// Reads the descriptor at `ptr` (the address of [`DESCRIPTOR_SYMBOL`]), checking
    /// magic, ABI version and size before forming a reference, so a descriptor from
    /// another version is reported rather than misread.
    ///
    /// [`DESCRIPTOR_SYMBOL`]: crate::DESCRIPTOR_SYMBOL
    ///
    /// ```
    /// use staticdl_abi::PluginDescriptor;
    ///
    /// static DESC: PluginDescriptor = PluginDescriptor::new("p", "1", &[], &[], None, None);
    /// let addr = core::ptr::from_ref(&DESC).cast();
    /// // SAFETY: `addr` is a live, immutable descriptor.
    /// let desc = unsafe { PluginDescriptor::from_ptr(addr) }.unwrap();
    /// // SAFETY: as above; its strings and tables are static.
    /// assert_eq!(unsafe { desc.validate() }.unwrap().name(), "p");
    /// ```
    ///
    /// # Safety
    /// `ptr`, if not null, must be aligned and readable for 16 bytes and, if those
    /// announce a `size`, for `size` bytes, unchanged for `'a`.
    pub unsafe fn from_ptr<'a>(
        ptr: *const c_void,
    ) -> Result<&'a PluginDescriptor, DescriptorError<'a>> {
        if ptr.is_null() {
            return Err(DescriptorError::Null);
        }
        // SAFETY: non-null, and the caller vouches for 16 readable, aligned bytes.
        let fixed = unsafe { ptr.cast::<FixedHeader>().read() };
        check_fixed(fixed.magic, fixed.abi_version, fixed.size)?;
        // SAFETY: the header announces at least a full descriptor of this version, and
        // the caller vouches that `size` bytes are readable and unchanged for `'a`.
        Ok(unsafe { &*ptr.cast::<PluginDescriptor>() })
    }

    /// Checks magic, ABI version and size.
    ///
    /// ```
    /// use staticdl_abi::{DescriptorError, PluginDescriptor};
    ///
    /// let mut desc = PluginDescriptor::new("p", "1", &[], &[], None, None);
    /// assert!(desc.check_header().is_ok());
    /// desc.abi_version = 99;
    /// assert_eq!(desc.check_header(), Err(DescriptorError::AbiVersion { found: 99 }));
    /// ```
    pub fn check_header(&self) -> Result<(), DescriptorError<'static>> {
        check_fixed(self.magic, self.abi_version, self.size)
    }

    /// Checks the whole descriptor: the header, that every string is UTF-8, every
    /// table plausible, every export named once with a non-null address and a
    /// well-formed signature, and every route well-formed and naming an export with
    /// [`HANDLER_SIGNATURE`]. Returns views that need no further checks.
    ///
    /// ```
    /// use staticdl_abi::{ExportDesc, PluginDescriptor, HANDLER_SIGNATURE};
    ///
    /// static EXPORTS: [ExportDesc; 1] =
    ///     [ExportDesc::new("f", "fn(i32)->i32", core::ptr::null())];
    /// static BAD: PluginDescriptor = PluginDescriptor::new("p", "1", &EXPORTS, &[], None, None);
    /// // SAFETY: `BAD` and everything it points to is static.
    /// let err = unsafe { BAD.validate() }.unwrap_err();
    /// assert_eq!(err.to_string(), "export `f` has a null address");
    /// ```
    ///
    /// # Safety
    /// Every pointer in the descriptor must be readable for what it announces and
    /// unchanged for the borrow of `self` (true of a descriptor in a loaded plugin's
    /// read-only data). The export addresses are not dereferenced here; see
    /// [`Export::get`](crate::Export::get).
    pub unsafe fn validate(&self) -> Result<PluginInfo<'_>, DescriptorError<'_>> {
        self.check_header()?;
        // SAFETY: the caller vouches for every pointer in the descriptor.
        let name = unsafe { read_str(&self.name, "name", None) }?;
        // SAFETY: as above.
        let version = unsafe { read_str(&self.version, "version", None) }?;
        if !self.exports.is_plausible() {
            return Err(DescriptorError::BadTable { table: "exports" });
        }
        if !self.routes.is_plausible() {
            return Err(DescriptorError::BadTable { table: "routes" });
        }
        // SAFETY: plausible, and the caller vouches for readability.
        let (exports, routes) = unsafe { (self.exports.as_slice(), self.routes.as_slice()) };

        for (index, export) in exports.iter().enumerate() {
            // SAFETY: the caller vouches for every pointer in the descriptor.
            let name = unsafe { read_str(&export.name, "export name", Some(index)) }?;
            // SAFETY: as above.
            let signature =
                unsafe { read_str(&export.signature, "export signature", Some(index)) }?;
            if name.is_empty() {
                return Err(DescriptorError::BadString {
                    field: "export name",
                    index: Some(index),
                });
            }
            if export.addr.is_null() {
                return Err(DescriptorError::NullExport { name });
            }
            if let Err(error) = Signature::parse(signature) {
                return Err(DescriptorError::BadSignature {
                    export: name,
                    error,
                });
            }
            for earlier in &exports[..index] {
                // SAFETY: validated by an earlier iteration.
                if unsafe { trusted_str(&earlier.name) } == name {
                    return Err(DescriptorError::DuplicateExport { name });
                }
            }
        }

        let info = PluginInfo::trusted(name, version, exports, routes, self.init, self.fini);
        for (index, route) in routes.iter().enumerate() {
            // SAFETY: the caller vouches for every pointer in the descriptor.
            let (method, path, handler) = unsafe {
                (
                    read_str(&route.method, "route method", Some(index))?,
                    read_str(&route.path, "route path", Some(index))?,
                    read_str(&route.handler, "route handler", Some(index))?,
                )
            };
            if method.is_empty() || !path.starts_with('/') {
                return Err(DescriptorError::BadRoute { method, path });
            }
            let Some(export) = info.export(handler) else {
                return Err(DescriptorError::UnknownRouteHandler { path, handler });
            };
            if let Err(mismatch) = compare_signatures(HANDLER_SIGNATURE, export.signature()) {
                return Err(DescriptorError::RouteHandlerSignature {
                    path,
                    handler,
                    mismatch,
                });
            }
        }
        Ok(info)
    }
}

/// Reads a descriptor string, reporting which one is broken.
///
/// # Safety
/// As for [`AbiStr::to_str`].
unsafe fn read_str<'a>(
    s: &'a AbiStr,
    field: &'static str,
    index: Option<usize>,
) -> Result<&'a str, DescriptorError<'a>> {
    if !s.is_plausible() {
        return Err(DescriptorError::BadString { field, index });
    }
    // SAFETY: plausible, and the caller vouches for readability.
    unsafe { s.to_str() }.map_err(|_| DescriptorError::BadString { field, index })
}

/// What is wrong with a descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DescriptorError<'a> {
    /// The descriptor pointer is null.
    Null,
    /// The first eight bytes are not [`MAGIC`].
    BadMagic {
        /// The bytes found.
        found: [u8; 8],
    },
    /// The plugin was built for another ABI version.
    AbiVersion {
        /// The plugin's version.
        found: u32,
    },
    /// The descriptor is smaller than [`DESCRIPTOR_MIN_SIZE`].
    TooSmall {
        /// The size it declares.
        size: u32,
    },
    /// The `exports` or `routes` table is null with a non-zero count, misaligned, or
    /// impossibly large.
    BadTable {
        /// `"exports"` or `"routes"`.
        table: &'static str,
    },
    /// A string is null with a non-zero length, not UTF-8, or (export names) empty.
    BadString {
        /// Which string, e.g. `"export name"`.
        field: &'static str,
        /// Its index in its table, for table entries.
        index: Option<usize>,
    },
    /// An export has a null address.
    NullExport {
        /// The export.
        name: &'a str,
    },
    /// An export's signature does not follow the grammar.
    BadSignature {
        /// The export.
        export: &'a str,
        /// What is wrong with the signature.
        error: SignatureError<'a>,
    },
    /// Two exports share a name.
    DuplicateExport {
        /// The name.
        name: &'a str,
    },
    /// A route has an empty method or a path not starting with `/`.
    BadRoute {
        /// Its method.
        method: &'a str,
        /// Its path.
        path: &'a str,
    },
    /// A route names a handler that is not exported.
    UnknownRouteHandler {
        /// The route's path.
        path: &'a str,
        /// The missing export.
        handler: &'a str,
    },
    /// A route names an export whose signature is not [`HANDLER_SIGNATURE`].
    RouteHandlerSignature {
        /// The route's path.
        path: &'a str,
        /// The export.
        handler: &'a str,
        /// Its signature against the handler signature.
        mismatch: SignatureMismatch<'a>,
    },
}

impl fmt::Display for DescriptorError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("plugin descriptor is null"),
            Self::BadMagic { found } => {
                write!(
                    f,
                    "not a staticdl plugin descriptor (magic b\"{}\")",
                    found.escape_ascii()
                )
            }
            Self::AbiVersion { found } => {
                write!(
                    f,
                    "plugin built for ABI version {found}, host speaks {ABI_VERSION}"
                )
            }
            Self::TooSmall { size } => {
                write!(
                    f,
                    "plugin descriptor is {size} bytes, at least {DESCRIPTOR_MIN_SIZE} expected"
                )
            }
            Self::BadTable { table } => write!(f, "descriptor {table} table is malformed"),
            Self::BadString { field, index: None } => {
                write!(f, "descriptor {field} is not valid UTF-8")
            }
            Self::BadString {
                field,
                index: Some(index),
            } => write!(f, "descriptor {field} #{index} is empty or not valid UTF-8"),
            Self::NullExport { name } => write!(f, "export `{name}` has a null address"),
            Self::BadSignature { export, error } => write!(f, "export `{export}`: {error}"),
            Self::DuplicateExport { name } => write!(f, "export `{name}` is declared twice"),
            Self::BadRoute { method, path } => write!(f, "route `{method} {path}` is malformed"),
            Self::UnknownRouteHandler { path, handler } => {
                write!(f, "route `{path}` names `{handler}`, which is not exported")
            }
            Self::RouteHandlerSignature {
                path,
                handler,
                mismatch,
            } => write!(f, "route `{path}` handler `{handler}`: {mismatch}"),
        }
    }
}

impl core::error::Error for DescriptorError<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::descriptor::{ExportDesc, Route, DESCRIPTOR_SYMBOL};
    use std::string::ToString;

    /// Declared with the handler signature; validation reads only the declaration,
    /// so the Rust type behind it does not matter here.
    unsafe extern "C" fn handler(_: *const c_void, _: *mut c_void) -> i32 {
        0
    }
    extern "C" fn add(a: i32, b: i32) -> i32 {
        a + b
    }

    const HANDLER: *const c_void = handler as *const c_void;
    const ADD: *const c_void = add as *const c_void;

    fn validate(
        desc: &'static PluginDescriptor,
    ) -> Result<PluginInfo<'static>, DescriptorError<'static>> {
        // SAFETY: every test descriptor is a `static` built from static data.
        unsafe { desc.validate() }
    }

    #[test]
    fn good_descriptor_validates() {
        static EXPORTS: [ExportDesc; 2] = [
            ExportDesc::new("add", "fn(i32,i32)->i32", ADD),
            ExportDesc::new("h", HANDLER_SIGNATURE, HANDLER),
        ];
        static ROUTES: [Route; 1] = [Route::new("GET", "/h", "h")];
        static DESC: PluginDescriptor =
            PluginDescriptor::new("t", "0.1", &EXPORTS, &ROUTES, None, None);
        let info = validate(&DESC).unwrap();
        assert_eq!((info.name(), info.version()), ("t", "0.1"));
        assert_eq!(info.exports().len(), 2);
        let route = info.routes().next().unwrap();
        assert_eq!(
            (route.method, route.path, route.handler.name()),
            ("GET", "/h", "h")
        );
        assert_eq!(route.handler.addr(), HANDLER);
        #[cfg(feature = "http")]
        {
            // SAFETY: `handler` is a function of this program; it is not called.
            let h = unsafe { route.handler_fn() };
            assert_eq!(h as *const c_void, HANDLER);
        }
        let err = info
            .export("add")
            .unwrap()
            .check::<extern "C" fn(i64, i32) -> i32>()
            .unwrap_err();
        assert_eq!(err.found, "fn(i32,i32)->i32");
        assert_eq!(DESCRIPTOR_SYMBOL, "STATICDL_PLUGIN");
    }

    #[test]
    fn broken_descriptors_are_reported() {
        static DUP: [ExportDesc; 2] = [
            ExportDesc::new("a", "fn()->()", ADD),
            ExportDesc::new("a", "fn()->()", ADD),
        ];
        static D1: PluginDescriptor = PluginDescriptor::new("t", "1", &DUP, &[], None, None);
        assert_eq!(
            validate(&D1).unwrap_err(),
            DescriptorError::DuplicateExport { name: "a" }
        );

        static SIG: [ExportDesc; 1] = [ExportDesc::new("a", "fn(int)->()", ADD)];
        static D2: PluginDescriptor = PluginDescriptor::new("t", "1", &SIG, &[], None, None);
        assert_eq!(
            validate(&D2).unwrap_err().to_string(),
            "export `a`: malformed signature `fn(int)->()`: unknown type `int`"
        );

        static ONE: [ExportDesc; 1] = [ExportDesc::new("add", "fn(i32,i32)->i32", ADD)];
        static MISSING: [Route; 1] = [Route::new("GET", "/x", "nope")];
        static D3: PluginDescriptor = PluginDescriptor::new("t", "1", &ONE, &MISSING, None, None);
        assert_eq!(
            validate(&D3).unwrap_err(),
            DescriptorError::UnknownRouteHandler {
                path: "/x",
                handler: "nope"
            }
        );

        static WRONG: [Route; 1] = [Route::new("GET", "/x", "add")];
        static D4: PluginDescriptor = PluginDescriptor::new("t", "1", &ONE, &WRONG, None, None);
        assert!(matches!(
            validate(&D4).unwrap_err(),
            DescriptorError::RouteHandlerSignature { handler: "add", .. }
        ));

        static BAD_PATH: [Route; 1] = [Route::new("GET", "x", "add")];
        static D5: PluginDescriptor = PluginDescriptor::new("t", "1", &ONE, &BAD_PATH, None, None);
        assert_eq!(
            validate(&D5).unwrap_err(),
            DescriptorError::BadRoute {
                method: "GET",
                path: "x"
            }
        );
    }

    #[test]
    fn header_is_checked_before_the_rest() {
        let mut desc = PluginDescriptor::new("t", "1", &[], &[], None, None);
        desc.magic[0] = b'S';
        assert!(matches!(
            desc.check_header(),
            Err(DescriptorError::BadMagic { .. })
        ));
        let mut desc = PluginDescriptor::new("t", "1", &[], &[], None, None);
        desc.size = 16;
        assert_eq!(
            desc.check_header(),
            Err(DescriptorError::TooSmall { size: 16 })
        );
        // A bare 16-byte header from a future version is rejected without reading on.
        let future = FixedHeader {
            magic: MAGIC,
            abi_version: ABI_VERSION + 1,
            size: 16,
        };
        // SAFETY: `future` is 16 readable bytes, and it is rejected before any more.
        let err =
            unsafe { PluginDescriptor::from_ptr(core::ptr::from_ref(&future).cast()) }.unwrap_err();
        assert_eq!(
            err,
            DescriptorError::AbiVersion {
                found: ABI_VERSION + 1
            }
        );
        // SAFETY: null is accepted and rejected.
        let err = unsafe { PluginDescriptor::from_ptr(core::ptr::null()) }.unwrap_err();
        assert_eq!(err, DescriptorError::Null);
    }

    #[test]
    fn null_table_with_count_is_rejected() {
        let mut desc = PluginDescriptor::new("t", "1", &[], &[], None, None);
        desc.exports = crate::AbiSlice::from_raw_parts(core::ptr::null(), 3);
        // SAFETY: the only pointer left to read is the broken one, which is rejected.
        let err = unsafe { desc.validate() }.unwrap_err();
        assert_eq!(err, DescriptorError::BadTable { table: "exports" });
    }
}
