//! The HTTP handler contract (feature `http`): the `#[repr(C)]` request and
//! response, the handler function type, and the host-side way to call a handler.
//!
//! Owns: [`Header`], [`Request`], [`Response`], [`HandlerFn`], the `HANDLER_*` result
//! codes, and [`call_handler`] / [`Reply`] (the host side). Does not own: the
//! plugin-side ways to fill a response ([`IntoResponse`](crate::IntoResponse),
//! [`ResponseBuilder`](crate::ResponseBuilder)), which live in `response.rs`.
//!
//! # Ownership
//!
//! * The **request** and everything it points to belong to the host and are valid
//!   only during the call. A handler copies what it wants to keep.
//! * The **response** struct belongs to the host (it passes a pointer to an empty
//!   one), but the memory its `headers` and `body` point to belongs to the plugin.
//!   The plugin says how to free it by setting `release` (and `release_data`, which
//!   only `release` reads). The host reads the response, then calls
//!   `release(response)` exactly once, on the same thread or another, before the
//!   plugin is unloaded; it never frees the memory itself. `release == NULL` means
//!   the memory is static (lives as long as the plugin).
//!
//! Unsafe code is allowed in this module: the handler contract passes requests and
//! responses as raw pointers across the boundary and calls the plugin's release
//! function.
#![allow(unsafe_code)]

use core::ffi::c_void;
use core::fmt;
use core::marker::PhantomData;

use crate::ffi::Bytes;

/// The handler succeeded; the response is what it produced.
pub const HANDLER_OK: i32 = 0;
/// The handler failed; the response carries an error status and a UTF-8 message.
pub const HANDLER_ERROR: i32 = 1;
/// The handler panicked; the response is a 500 with the panic message.
pub const HANDLER_PANICKED: i32 = 2;
/// The handler was called with a null request or response.
pub const HANDLER_BAD_ARGS: i32 = 3;

/// An HTTP handler: `int32_t handler(const staticdl_request *, staticdl_response *)`.
///
/// Returns [`HANDLER_OK`] or a non-zero code (`HANDLER_*`, or a plugin's own) with an
/// error status and message in the response. Its signature is
/// [`HANDLER_SIGNATURE`](crate::HANDLER_SIGNATURE).
///
/// The `'static` on `Request` is only there because higher-ranked function pointer
/// types cannot carry a [`FnSignature`](crate::FnSignature); a handler never gets to
/// keep the request (see [`call_handler`]).
pub type HandlerFn =
    unsafe extern "C" fn(request: *const Request<'static>, response: *mut Response) -> i32;

/// `release(response)`: frees what the plugin attached to `response`.
pub type ReleaseFn = unsafe extern "C" fn(response: *mut Response);

/// One HTTP header as raw bytes (C: `staticdl_header`).
///
/// ```
/// use staticdl_abi::Header;
///
/// const JSON: Header<'static> = Header::new(b"content-type", b"application/json");
/// assert_eq!(JSON.name(), b"content-type");
/// ```
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'a> {
    pub(crate) name: Bytes<'a>,
    pub(crate) value: Bytes<'a>,
}

impl<'a> Header<'a> {
    /// A header from its name and value.
    pub const fn new(name: &'a [u8], value: &'a [u8]) -> Self {
        Self {
            name: Bytes::new(name),
            value: Bytes::new(value),
        }
    }

    /// A header from raw views.
    pub const fn from_bytes(name: Bytes<'a>, value: Bytes<'a>) -> Self {
        Self { name, value }
    }

    /// The name, as sent (HTTP names compare case-insensitively).
    pub const fn name(&self) -> &'a [u8] {
        self.name.as_slice()
    }

    /// The value.
    pub const fn value(&self) -> &'a [u8] {
        self.value.as_slice()
    }
}

/// An HTTP request as the host hands it to a handler (C: `staticdl_request`).
///
/// All fields are raw bytes borrowed from the host for the duration of the call:
/// `method` (`GET`), `path` (`/hello`, not decoded), `query` (after `?`, without it;
/// empty if none), the headers in order, and the body.
///
/// ```
/// use staticdl_abi::{Header, Request};
///
/// let headers = [Header::new(b"Accept", b"text/plain")];
/// let req = Request::new(b"GET", b"/hello", b"name=x", &headers, b"");
/// assert_eq!(req.method(), b"GET");
/// assert_eq!(req.header(b"accept"), Some(&b"text/plain"[..]));
/// assert_eq!(req.query_param(b"name"), Some(&b"x"[..]));
/// ```
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    pub(crate) method: Bytes<'a>,
    pub(crate) path: Bytes<'a>,
    pub(crate) query: Bytes<'a>,
    pub(crate) headers: *const Header<'a>,
    pub(crate) header_count: usize,
    pub(crate) body: Bytes<'a>,
    _borrow: PhantomData<&'a [Header<'a>]>,
}

// SAFETY: a `Request<'a>` is a bundle of `&'a [u8]` and one `&'a [Header<'a>]`, all of
// which are `Send + Sync`; the raw pointer is only a layout detail.
unsafe impl Sync for Request<'_> {}
// SAFETY: as above.
unsafe impl Send for Request<'_> {}

impl<'a> Request<'a> {
    /// A request over borrowed parts.
    pub const fn new(
        method: &'a [u8],
        path: &'a [u8],
        query: &'a [u8],
        headers: &'a [Header<'a>],
        body: &'a [u8],
    ) -> Self {
        Self {
            method: Bytes::new(method),
            path: Bytes::new(path),
            query: Bytes::new(query),
            headers: headers.as_ptr(),
            header_count: headers.len(),
            body: Bytes::new(body),
            _borrow: PhantomData,
        }
    }

    /// The method, e.g. `b"GET"`.
    pub const fn method(&self) -> &'a [u8] {
        self.method.as_slice()
    }

    /// The path, e.g. `b"/hello"`, as received (not percent-decoded).
    pub const fn path(&self) -> &'a [u8] {
        self.path.as_slice()
    }

    /// The query string without the `?`; empty if there is none.
    pub const fn query(&self) -> &'a [u8] {
        self.query.as_slice()
    }

    /// The headers, in the order received.
    pub const fn headers(&self) -> &'a [Header<'a>] {
        if self.headers.is_null() || self.header_count == 0 {
            return &[];
        }
        // SAFETY: `headers`/`header_count` were taken from a `&'a [Header<'a>]` in
        // `Request::new`, the only constructor.
        unsafe { core::slice::from_raw_parts(self.headers, self.header_count) }
    }

    /// The body.
    pub const fn body(&self) -> &'a [u8] {
        self.body.as_slice()
    }

    /// The value of the first header called `name` (ASCII case-insensitive).
    pub fn header(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.headers()
            .iter()
            .find(|h| h.name().eq_ignore_ascii_case(name))
            .map(|h| h.value())
    }

    /// The raw value of the first `name=value` pair of the query string called
    /// `name` (not percent-decoded); `Some(b"")` for a bare `name`.
    pub fn query_param(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.query().split(|&b| b == b'&').find_map(|pair| {
            let mut kv = pair.splitn(2, |&b| b == b'=');
            (kv.next() == Some(name)).then(|| kv.next().unwrap_or(&[]))
        })
    }
}

/// The response a handler fills (C: `staticdl_response`).
///
/// The host passes a pointer to an empty one ([`Response::new`]); the plugin sets it
/// through [`IntoResponse`](crate::IntoResponse), [`Response::set_static`] or
/// [`Response::set_raw`]. Setting a response releases what it held before, and
/// dropping one releases it, so a `Response` that leaves the plugin's hands is freed
/// exactly once, by the plugin's own `release`. The memory behind the headers and
/// body belongs to the plugin until then; the host never frees it itself.
///
/// `status == 0` means the handler never set one.
///
/// ```
/// use staticdl_abi::{Header, Response};
///
/// const HEADERS: &[Header<'static>] = &[Header::new(b"content-type", b"text/plain")];
/// let mut resp = Response::new();
/// resp.set_static(200, HEADERS, b"hi");
/// assert_eq!(resp.status(), 200);
/// // SAFETY: set through the safe API just above.
/// assert_eq!(unsafe { resp.body() }, b"hi");
/// ```
#[repr(C)]
pub struct Response {
    pub(crate) status: u16,
    pub(crate) reserved: [u8; 6],
    pub(crate) headers: *const Header<'static>,
    pub(crate) header_count: usize,
    pub(crate) body: Bytes<'static>,
    pub(crate) release: Option<ReleaseFn>,
    pub(crate) release_data: *mut c_void,
}

// SAFETY: the contract lets the host read a response and call `release` from any
// thread; what the pointers reach is only read until then.
unsafe impl Send for Response {}
// SAFETY: `&Response` only reads; all writes need `&mut`.
unsafe impl Sync for Response {}

impl Response {
    /// An empty response: status 0, no headers, no body, nothing to release.
    pub const fn new() -> Self {
        Self {
            status: 0,
            reserved: [0; 6],
            headers: core::ptr::null(),
            header_count: 0,
            body: Bytes::EMPTY,
            release: None,
            release_data: core::ptr::null_mut(),
        }
    }

    /// The HTTP status (0 if never set).
    pub const fn status(&self) -> u16 {
        self.status
    }

    /// Sets the status, leaving headers and body alone.
    pub fn set_status(&mut self, status: u16) {
        self.status = status;
    }

    /// Sets a response whose memory is static. Releases what was set before.
    pub fn set_static(
        &mut self,
        status: u16,
        headers: &'static [Header<'static>],
        body: &'static [u8],
    ) {
        // SAFETY: static memory needs no release and outlives any reader.
        unsafe {
            self.set_raw(
                status,
                headers.as_ptr(),
                headers.len(),
                body.as_ptr(),
                body.len(),
                None,
                core::ptr::null_mut(),
            )
        }
    }

    /// Sets every field. Releases what was set before.
    ///
    /// # Safety
    /// `headers`/`header_count` and `body`/`body_len` must be readable (or null with a
    /// zero count) and unchanged until `release` is called — or, with `release ==
    /// None`, for as long as the plugin is loaded. `release`, if set, must free
    /// exactly that memory when called once with this response, reading only
    /// `release_data` and the fields set here.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn set_raw(
        &mut self,
        status: u16,
        headers: *const Header<'static>,
        header_count: usize,
        body: *const u8,
        body_len: usize,
        release: Option<ReleaseFn>,
        release_data: *mut c_void,
    ) {
        self.release();
        self.status = status;
        self.headers = headers;
        self.header_count = header_count;
        // SAFETY: the caller vouches for `body_len` readable bytes until release.
        self.body = unsafe { Bytes::from_raw_parts(body, body_len) };
        self.release = release;
        self.release_data = release_data;
    }

    /// The headers.
    ///
    /// # Safety
    /// The response must have been filled by code keeping the [`Response::set_raw`]
    /// contract: on the host side, by a handler that keeps the handler contract.
    pub unsafe fn headers(&self) -> &[Header<'_>] {
        if self.headers.is_null() || self.header_count == 0 {
            return &[];
        }
        // SAFETY: the caller vouches that whoever filled the response kept the
        // `set_raw` contract, so the headers are readable until release, which needs
        // `&mut self`.
        unsafe { core::slice::from_raw_parts(self.headers, self.header_count) }
    }

    /// The body.
    ///
    /// # Safety
    /// As for [`Response::headers`].
    pub unsafe fn body(&self) -> &[u8] {
        self.body.as_slice()
    }

    /// Calls the plugin's `release` (if any) and resets to [`Response::new`].
    ///
    /// The [`Drop`] impl does the same; calling it early is only useful to free plugin
    /// memory before the struct itself goes away.
    pub fn release(&mut self) {
        if let Some(release) = self.release.take() {
            // SAFETY: `release` was set by `set_raw` (or by a handler keeping its
            // contract) for exactly this content, and `take` makes this the only call.
            unsafe { release(self) }
        }
        // Field by field: assigning a whole `Response` would drop the old one, and
        // dropping calls this function.
        self.status = 0;
        self.headers = core::ptr::null();
        self.header_count = 0;
        self.body = Bytes::EMPTY;
        self.release_data = core::ptr::null_mut();
    }
}

impl Default for Response {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Response {
    fn drop(&mut self) {
        self.release();
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("header_count", &self.header_count)
            .field("body_len", &self.body.len())
            .field("release", &self.release.is_some())
            .finish()
    }
}

/// Calls `handler` with `request` and a fresh [`Response`]; the host side of the
/// contract.
///
/// ```
/// use staticdl_abi::{call_handler, Request, Response, HANDLER_OK};
///
/// unsafe extern "C" fn hello(_req: *const Request<'static>, resp: *mut Response) -> i32 {
///     // SAFETY: the host passes a valid response.
///     unsafe { (*resp).set_static(200, &[], b"hello") };
///     HANDLER_OK
/// }
///
/// let req = Request::new(b"GET", b"/", b"", &[], b"");
/// // SAFETY: `hello` keeps the handler contract.
/// let reply = unsafe { call_handler(hello, &req) };
/// assert!(reply.is_ok());
/// assert_eq!(reply.body(), b"hello");
/// ```
///
/// # Safety
/// `handler` must be a live function keeping the handler contract: it reads the
/// request only during the call and fills the response per [`Response::set_raw`].
/// The returned [`Reply`] must be dropped before the plugin is unloaded (dropping it
/// calls the plugin's `release`).
pub unsafe fn call_handler(handler: HandlerFn, request: &Request<'_>) -> Reply {
    let mut response = Response::new();
    // The handler cannot keep the request (contract above), so the lifetime named in
    // `HandlerFn` does not matter.
    let request = core::ptr::from_ref(request).cast::<Request<'static>>();
    // SAFETY: the caller vouches for `handler`; both pointers are valid for the call.
    let code = unsafe { handler(request, &mut response) };
    Reply { code, response }
}

/// What a handler produced: its result code and the response. Dropping it releases
/// the plugin's memory.
#[derive(Debug)]
pub struct Reply {
    code: i32,
    response: Response,
}

impl Reply {
    /// The handler's result code ([`HANDLER_OK`] on success).
    pub fn code(&self) -> i32 {
        self.code
    }

    /// Whether the handler returned [`HANDLER_OK`].
    pub fn is_ok(&self) -> bool {
        self.code == HANDLER_OK
    }

    /// The HTTP status the handler set (0 if none).
    pub fn status(&self) -> u16 {
        self.response.status()
    }

    /// The response headers.
    pub fn headers(&self) -> &[Header<'_>] {
        // SAFETY: `call_handler`'s caller vouched that the handler fills the response
        // per the `set_raw` contract.
        unsafe { self.response.headers() }
    }

    /// The value of the first response header called `name` (ASCII
    /// case-insensitive).
    pub fn header(&self, name: &[u8]) -> Option<&[u8]> {
        self.headers()
            .iter()
            .find(|h| h.name().eq_ignore_ascii_case(name))
            .map(|h| h.value())
    }

    /// The response body.
    pub fn body(&self) -> &[u8] {
        // SAFETY: as for `headers`.
        unsafe { self.response.body() }
    }

    /// On failure, the body as the error message (if it is UTF-8).
    pub fn error_message(&self) -> Option<&str> {
        if self.is_ok() {
            None
        } else {
            core::str::from_utf8(self.body()).ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_fn_has_the_handler_signature() {
        assert_eq!(crate::signature_of::<HandlerFn>(), crate::HANDLER_SIGNATURE);
    }
}
