//! The C view of every `#[repr(C)]` type and constant, as this compiler lays them out.
//!
//! Owns: [`TYPES`] and [`CONSTANTS`], the single table that ties each Rust type and
//! field to its name in `include/staticdl.h`. `tests/c_header.rs` turns it into
//! `_Static_assert`s that gcc checks against the header; the unit tests below pin it
//! to fixed numbers so that a change to a Rust type is noticed even without a C
//! compiler. Does not own: the types themselves.
//!
//! The handler contract's types and constants are listed with the `http` feature
//! only (the Rust types exist only then); the header declares them either way.
//!
//! A Rust field that is a pointer+length pair ([`AbiSlice`], [`AbiStr`], [`Bytes`])
//! is listed under its C spelling: either one `staticdl_str`/`staticdl_bytes` field,
//! or two fields (`exports`, `export_count`) when C spells it that way.

use core::mem::{align_of, offset_of, size_of};

use crate::descriptor::{ExportDesc, PluginDescriptor, Route};
use crate::ffi::{AbiSlice, AbiStr, Bytes};
#[cfg(feature = "http")]
use crate::handler::{Header, Request, Response};
use crate::host::HostApi;

/// One `#[repr(C)]` type as C sees it.
#[derive(Clone, Copy, Debug)]
pub struct CType {
    /// The C typedef name.
    pub name: &'static str,
    /// `sizeof`.
    pub size: usize,
    /// `_Alignof`.
    pub align: usize,
    /// `(C field name, offsetof)`, in declaration order.
    pub fields: &'static [(&'static str, usize)],
}

const LEN: usize = offset_of!(AbiSlice<u8>, len);

/// Every `#[repr(C)]` type of the contract.
pub const TYPES: &[CType] = &[
    CType {
        name: "staticdl_str",
        size: size_of::<AbiStr>(),
        align: align_of::<AbiStr>(),
        fields: &[
            ("ptr", offset_of!(AbiStr, ptr)),
            ("len", offset_of!(AbiStr, len)),
        ],
    },
    CType {
        name: "staticdl_bytes",
        size: size_of::<Bytes<'static>>(),
        align: align_of::<Bytes<'static>>(),
        fields: &[
            ("ptr", offset_of!(Bytes<'static>, ptr)),
            ("len", offset_of!(Bytes<'static>, len)),
        ],
    },
    CType {
        name: "staticdl_export",
        size: size_of::<ExportDesc>(),
        align: align_of::<ExportDesc>(),
        fields: &[
            ("name", offset_of!(ExportDesc, name)),
            ("signature", offset_of!(ExportDesc, signature)),
            ("addr", offset_of!(ExportDesc, addr)),
        ],
    },
    CType {
        name: "staticdl_route",
        size: size_of::<Route>(),
        align: align_of::<Route>(),
        fields: &[
            ("method", offset_of!(Route, method)),
            ("path", offset_of!(Route, path)),
            ("handler", offset_of!(Route, handler)),
        ],
    },
    CType {
        name: "staticdl_plugin",
        size: size_of::<PluginDescriptor>(),
        align: align_of::<PluginDescriptor>(),
        fields: &[
            ("magic", offset_of!(PluginDescriptor, magic)),
            ("abi_version", offset_of!(PluginDescriptor, abi_version)),
            ("size", offset_of!(PluginDescriptor, size)),
            ("name", offset_of!(PluginDescriptor, name)),
            ("version", offset_of!(PluginDescriptor, version)),
            ("exports", offset_of!(PluginDescriptor, exports)),
            ("export_count", offset_of!(PluginDescriptor, exports) + LEN),
            ("init", offset_of!(PluginDescriptor, init)),
            ("fini", offset_of!(PluginDescriptor, fini)),
            ("routes", offset_of!(PluginDescriptor, routes)),
            ("route_count", offset_of!(PluginDescriptor, routes) + LEN),
        ],
    },
    CType {
        name: "staticdl_host_api",
        size: size_of::<HostApi>(),
        align: align_of::<HostApi>(),
        fields: &[
            ("abi_version", offset_of!(HostApi, abi_version)),
            ("size", offset_of!(HostApi, size)),
            ("log", offset_of!(HostApi, log)),
            ("alloc", offset_of!(HostApi, alloc)),
            ("dealloc", offset_of!(HostApi, dealloc)),
            ("realloc", offset_of!(HostApi, realloc)),
        ],
    },
    #[cfg(feature = "http")]
    CType {
        name: "staticdl_header",
        size: size_of::<Header<'static>>(),
        align: align_of::<Header<'static>>(),
        fields: &[
            ("name", offset_of!(Header<'static>, name)),
            ("value", offset_of!(Header<'static>, value)),
        ],
    },
    #[cfg(feature = "http")]
    CType {
        name: "staticdl_request",
        size: size_of::<Request<'static>>(),
        align: align_of::<Request<'static>>(),
        fields: &[
            ("method", offset_of!(Request<'static>, method)),
            ("path", offset_of!(Request<'static>, path)),
            ("query", offset_of!(Request<'static>, query)),
            ("headers", offset_of!(Request<'static>, headers)),
            ("header_count", offset_of!(Request<'static>, header_count)),
            ("body", offset_of!(Request<'static>, body)),
        ],
    },
    #[cfg(feature = "http")]
    CType {
        name: "staticdl_response",
        size: size_of::<Response>(),
        align: align_of::<Response>(),
        fields: &[
            ("status", offset_of!(Response, status)),
            ("reserved", offset_of!(Response, reserved)),
            ("headers", offset_of!(Response, headers)),
            ("header_count", offset_of!(Response, header_count)),
            ("body", offset_of!(Response, body)),
            ("release", offset_of!(Response, release)),
            ("release_data", offset_of!(Response, release_data)),
        ],
    },
];

/// Every integer constant of the contract, by its C name.
pub const CONSTANTS: &[(&str, i64)] = &[
    ("STATICDL_ABI_VERSION", crate::ABI_VERSION as i64),
    ("STATICDL_SIGNATURE_MAX", crate::SIGNATURE_MAX as i64),
    ("STATICDL_INIT_OK", crate::INIT_OK as i64),
    ("STATICDL_INIT_FAILED", crate::INIT_FAILED as i64),
    ("STATICDL_INIT_PANICKED", crate::INIT_PANICKED as i64),
    ("STATICDL_INIT_BAD_HOST", crate::INIT_BAD_HOST as i64),
    #[cfg(feature = "http")]
    ("STATICDL_HANDLER_OK", crate::HANDLER_OK as i64),
    #[cfg(feature = "http")]
    ("STATICDL_HANDLER_ERROR", crate::HANDLER_ERROR as i64),
    #[cfg(feature = "http")]
    ("STATICDL_HANDLER_PANICKED", crate::HANDLER_PANICKED as i64),
    #[cfg(feature = "http")]
    ("STATICDL_HANDLER_BAD_ARGS", crate::HANDLER_BAD_ARGS as i64),
    ("STATICDL_LOG_ERROR", crate::LogLevel::Error as i64),
    ("STATICDL_LOG_WARN", crate::LogLevel::Warn as i64),
    ("STATICDL_LOG_INFO", crate::LogLevel::Info as i64),
    ("STATICDL_LOG_DEBUG", crate::LogLevel::Debug as i64),
    ("STATICDL_LOG_TRACE", crate::LogLevel::Trace as i64),
];

/// Every string constant of the contract, by its C name.
pub const STRINGS: &[(&str, &str)] = &[
    ("STATICDL_DESCRIPTOR_SYMBOL", crate::DESCRIPTOR_SYMBOL),
    ("STATICDL_HANDLER_SIGNATURE", crate::HANDLER_SIGNATURE),
];

#[cfg(all(test, target_pointer_width = "64"))]
mod tests {
    use super::*;

    /// The layout on 64-bit targets, written out by hand. A change here is an ABI
    /// change: bump `ABI_VERSION` (unless it only appends to a sized table) and edit
    /// `include/staticdl.h` to match.
    type Fields = &'static [(&'static str, usize)];

    const EXPECTED: &[(&str, usize, usize, Fields)] = &[
        ("staticdl_str", 16, 8, &[("ptr", 0), ("len", 8)]),
        ("staticdl_bytes", 16, 8, &[("ptr", 0), ("len", 8)]),
        (
            "staticdl_export",
            40,
            8,
            &[("name", 0), ("signature", 16), ("addr", 32)],
        ),
        (
            "staticdl_route",
            48,
            8,
            &[("method", 0), ("path", 16), ("handler", 32)],
        ),
        (
            "staticdl_plugin",
            96,
            8,
            &[
                ("magic", 0),
                ("abi_version", 8),
                ("size", 12),
                ("name", 16),
                ("version", 32),
                ("exports", 48),
                ("export_count", 56),
                ("init", 64),
                ("fini", 72),
                ("routes", 80),
                ("route_count", 88),
            ],
        ),
        (
            "staticdl_host_api",
            40,
            8,
            &[
                ("abi_version", 0),
                ("size", 4),
                ("log", 8),
                ("alloc", 16),
                ("dealloc", 24),
                ("realloc", 32),
            ],
        ),
        #[cfg(feature = "http")]
        ("staticdl_header", 32, 8, &[("name", 0), ("value", 16)]),
        #[cfg(feature = "http")]
        (
            "staticdl_request",
            80,
            8,
            &[
                ("method", 0),
                ("path", 16),
                ("query", 32),
                ("headers", 48),
                ("header_count", 56),
                ("body", 64),
            ],
        ),
        #[cfg(feature = "http")]
        (
            "staticdl_response",
            56,
            8,
            &[
                ("status", 0),
                ("reserved", 2),
                ("headers", 8),
                ("header_count", 16),
                ("body", 24),
                ("release", 40),
                ("release_data", 48),
            ],
        ),
    ];

    #[test]
    fn layout_is_pinned() {
        assert_eq!(TYPES.len(), EXPECTED.len());
        for (ty, (name, size, align, fields)) in TYPES.iter().zip(EXPECTED) {
            assert_eq!(ty.name, *name);
            assert_eq!((ty.size, ty.align), (*size, *align), "{name}");
            assert_eq!(ty.fields, *fields, "{name}");
        }
    }

    #[test]
    fn slices_and_pointers_share_a_layout() {
        assert_eq!(size_of::<AbiSlice<ExportDesc>>(), size_of::<AbiStr>());
        assert_eq!(size_of::<crate::SyncPtr<u8>>(), size_of::<*const u8>());
        assert_eq!(size_of::<Option<crate::InitFn>>(), size_of::<*const u8>());
        assert_eq!(crate::HOST_API_MIN_SIZE, 40);
        assert_eq!(crate::DESCRIPTOR_MIN_SIZE, 96);
    }

    #[test]
    fn descriptor_and_host_table_are_sync() {
        fn sync<T: Sync>() {}
        sync::<PluginDescriptor>();
        sync::<HostApi>();
        #[cfg(feature = "http")]
        sync::<Request<'static>>();
        #[cfg(feature = "http")]
        sync::<Response>();
    }
}
