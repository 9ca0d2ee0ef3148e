//! The plugin side of the handler contract (feature `http`): ways to fill a
//! [`Response`].
//!
//! Owns: [`IntoResponse`] (what a handler passed to [`plugin!`](crate::plugin) may
//! return), [`StaticResponse`] (no allocation), [`HandlerError`] (a failure with a
//! status and message) and, with the `alloc` feature, [`ResponseBuilder`] (owned
//! headers and body, freed by the plugin's own `release`).
//!
//! Does not own: the `#[repr(C)]` types or the host side (`handler.rs`).
//!
//! Unsafe code is allowed in this module: responses hand plugin-owned memory to the
//! host through raw pointers and take it back in their release function.
#![allow(unsafe_code)]

use crate::handler::{Header, Response, HANDLER_ERROR, HANDLER_OK};

#[cfg(feature = "alloc")]
use alloc::{boxed::Box, string::String, vec::Vec};
#[cfg(feature = "alloc")]
use core::ffi::c_void;

const TEXT_PLAIN: &[Header<'static>] =
    &[Header::new(b"content-type", b"text/plain; charset=utf-8")];

/// What a handler may return: writes itself into the response and gives the handler
/// result code.
///
/// Implemented for [`StaticResponse`], [`HandlerError`], [`ResponseBuilder`] (with
/// `alloc`) and `Result<T, E>` of two of them (an `Err` always yields a non-zero
/// code).
///
/// ```
/// use staticdl_abi::{HandlerError, IntoResponse, Response, StaticResponse, HANDLER_ERROR};
///
/// let mut resp = Response::new();
/// let result: Result<StaticResponse, HandlerError> = Err(HandlerError::new(404, "no such page"));
/// assert_eq!(result.write_into(&mut resp), HANDLER_ERROR);
/// assert_eq!(resp.status(), 404);
/// ```
pub trait IntoResponse {
    /// Fills `response` (releasing what it held) and returns the handler result code.
    fn write_into(self, response: &mut Response) -> i32;
}

impl<T: IntoResponse, E: IntoResponse> IntoResponse for Result<T, E> {
    fn write_into(self, response: &mut Response) -> i32 {
        match self {
            Ok(ok) => ok.write_into(response),
            Err(err) => match err.write_into(response) {
                HANDLER_OK => HANDLER_ERROR,
                code => code,
            },
        }
    }
}

/// A response made of static memory; needs no allocator.
///
/// ```
/// use staticdl_abi::{Header, Request, StaticResponse};
///
/// const HTML: &[Header<'static>] = &[Header::new(b"content-type", b"text/html")];
///
/// fn index(_req: &Request<'_>) -> StaticResponse {
///     StaticResponse::new(200, b"<h1>hi</h1>").with_headers(HTML)
/// }
/// # let _ = index;
/// ```
#[derive(Clone, Copy, Debug)]
pub struct StaticResponse {
    status: u16,
    headers: &'static [Header<'static>],
    body: &'static [u8],
}

impl StaticResponse {
    /// A response with `status`, `body` and no headers.
    pub const fn new(status: u16, body: &'static [u8]) -> Self {
        Self {
            status,
            headers: &[],
            body,
        }
    }

    /// Replaces the headers.
    pub const fn with_headers(mut self, headers: &'static [Header<'static>]) -> Self {
        self.headers = headers;
        self
    }
}

impl IntoResponse for StaticResponse {
    fn write_into(self, response: &mut Response) -> i32 {
        response.set_static(self.status, self.headers, self.body);
        HANDLER_OK
    }
}

#[derive(Clone, Debug)]
enum Message {
    Static(&'static str),
    #[cfg(feature = "alloc")]
    Owned(String),
}

/// A handler failure: an HTTP status and a UTF-8 message. Written as a `text/plain`
/// response with the message as body; the handler returns [`HANDLER_ERROR`].
///
/// ```
/// use staticdl_abi::{HandlerError, Request, StaticResponse};
///
/// fn admin(req: &Request<'_>) -> Result<StaticResponse, HandlerError> {
///     if req.header(b"authorization").is_none() {
///         return Err(HandlerError::new(401, "missing credentials"));
///     }
///     Ok(StaticResponse::new(200, b"welcome"))
/// }
/// # let _ = admin;
/// ```
#[derive(Clone, Debug)]
pub struct HandlerError {
    status: u16,
    message: Message,
}

impl HandlerError {
    /// A failure with a static message.
    pub const fn new(status: u16, message: &'static str) -> Self {
        Self {
            status,
            message: Message::Static(message),
        }
    }

    /// A 500 failure with a static message.
    pub const fn internal(message: &'static str) -> Self {
        Self::new(500, message)
    }

    /// A failure with an owned message.
    ///
    /// ```
    /// let err = staticdl_abi::HandlerError::with_message(400, format!("bad id {}", 7));
    /// assert_eq!(err.message(), "bad id 7");
    /// ```
    #[cfg(feature = "alloc")]
    pub fn with_message(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: Message::Owned(message.into()),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The message.
    pub fn message(&self) -> &str {
        match &self.message {
            Message::Static(text) => text,
            #[cfg(feature = "alloc")]
            Message::Owned(text) => text,
        }
    }
}

impl core::fmt::Display for HandlerError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: {}", self.status, self.message())
    }
}

impl core::error::Error for HandlerError {}

impl IntoResponse for HandlerError {
    fn write_into(self, response: &mut Response) -> i32 {
        match self.message {
            Message::Static(text) => response.set_static(self.status, TEXT_PLAIN, text.as_bytes()),
            #[cfg(feature = "alloc")]
            Message::Owned(text) => {
                let mut builder = ResponseBuilder::new(self.status);
                builder.push_header(TEXT_PLAIN[0].name(), TEXT_PLAIN[0].value());
                builder.body = text.into_bytes();
                builder.write_into(response);
            }
        }
        HANDLER_ERROR
    }
}

/// A response with owned headers and body (feature `alloc`).
///
/// Writing it into a [`Response`] moves the memory into one heap block that the
/// response's `release` frees with the plugin's own allocator, so the host never
/// frees plugin memory itself.
///
/// ```
/// use std::fmt::Write;
/// use staticdl_abi::{Request, ResponseBuilder};
///
/// fn hello(req: &Request<'_>) -> ResponseBuilder {
///     let mut resp = ResponseBuilder::ok().header("content-type", "text/plain");
///     let name = req.query_param(b"name").unwrap_or(b"world");
///     write!(resp, "hello {}", String::from_utf8_lossy(name)).unwrap();
///     resp
/// }
/// # let _ = hello;
/// ```
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, Default)]
pub struct ResponseBuilder {
    status: u16,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    body: Vec<u8>,
}

#[cfg(feature = "alloc")]
impl ResponseBuilder {
    /// An empty response with `status`.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// An empty `200 OK` response.
    pub fn ok() -> Self {
        Self::new(200)
    }

    /// Replaces the status.
    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        self.push_header(name, value);
        self
    }

    /// Adds a header in place.
    pub fn push_header(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.headers
            .push((name.as_ref().to_vec(), value.as_ref().to_vec()));
    }

    /// Replaces the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Appends to the body in place (see also the `fmt::Write` impl).
    pub fn append(&mut self, bytes: &[u8]) {
        self.body.extend_from_slice(bytes);
    }
}

#[cfg(feature = "alloc")]
impl core::fmt::Write for ResponseBuilder {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.append(s.as_bytes());
        Ok(())
    }
}

/// The heap block behind a response written by a [`ResponseBuilder`].
#[cfg(feature = "alloc")]
struct Owned {
    /// Owns the bytes that `headers` points into.
    _pairs: Vec<(Vec<u8>, Vec<u8>)>,
    headers: Vec<Header<'static>>,
    body: Vec<u8>,
}

/// The `release` of responses written by a [`ResponseBuilder`].
///
/// # Safety
/// `response` must be a response whose `release_data` is a `Box<Owned>` leaked by
/// `ResponseBuilder::write_into`, and this must be the only call for it.
#[cfg(feature = "alloc")]
unsafe extern "C" fn release_owned(response: *mut Response) {
    // SAFETY: the caller passes the response this function was registered for.
    let data = unsafe { (*response).release_data };
    if !data.is_null() {
        // SAFETY: `write_into` leaked exactly this `Box<Owned>`, and it is reclaimed
        // once (the caller's contract).
        drop(unsafe { Box::from_raw(data.cast::<Owned>()) });
    }
}

#[cfg(feature = "alloc")]
impl IntoResponse for ResponseBuilder {
    fn write_into(self, response: &mut Response) -> i32 {
        let owned = Box::into_raw(Box::new(Owned {
            _pairs: self.headers,
            headers: Vec::new(),
            body: self.body,
        }));
        // SAFETY: `owned` was just leaked and nothing else refers to it yet. Moving
        // the outer `Vec`s into the box did not move their heap buffers, so the
        // header views point into memory that lives as long as the box.
        unsafe {
            let pairs = &(*owned)._pairs;
            let headers = pairs
                .iter()
                .map(|(name, value)| {
                    Header::from_bytes(
                        crate::Bytes::from_raw_parts(name.as_ptr(), name.len()),
                        crate::Bytes::from_raw_parts(value.as_ptr(), value.len()),
                    )
                })
                .collect();
            (*owned).headers = headers;
            let headers = &(*owned).headers;
            let body = &(*owned).body;
            response.set_raw(
                self.status,
                headers.as_ptr(),
                headers.len(),
                body.as_ptr(),
                body.len(),
                Some(release_owned),
                owned.cast::<c_void>(),
            );
        }
        HANDLER_OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_error_response() {
        let mut resp = Response::new();
        assert_eq!(
            HandlerError::new(418, "teapot").write_into(&mut resp),
            HANDLER_ERROR
        );
        assert_eq!(resp.status(), 418);
        // SAFETY: filled through the safe API.
        unsafe {
            assert_eq!(resp.body(), b"teapot");
            assert_eq!(resp.headers()[0].name(), b"content-type");
        }
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn builder_response_is_released_once() {
        use core::fmt::Write;
        let mut builder = ResponseBuilder::new(201)
            .header("x-a", "1")
            .header(b"x-b", b"2");
        write!(builder, "made {}", 1).unwrap();
        let mut resp = Response::new();
        assert_eq!(builder.write_into(&mut resp), HANDLER_OK);
        assert_eq!(resp.status(), 201);
        // SAFETY: filled through the safe API.
        unsafe {
            assert_eq!(resp.body(), b"made 1");
            let headers = resp.headers();
            assert_eq!(headers.len(), 2);
            assert_eq!(
                (headers[1].name(), headers[1].value()),
                (&b"x-b"[..], &b"2"[..])
            );
        }
        // Setting another response releases the builder's block first.
        resp.set_static(204, &[], b"");
        assert_eq!(resp.status(), 204);
        resp.release();
        assert_eq!(resp.status(), 0);
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn owned_error_message() {
        let mut resp = Response::new();
        let result: Result<ResponseBuilder, HandlerError> =
            Err(HandlerError::with_message(400, "bad id 7"));
        assert_eq!(result.write_into(&mut resp), HANDLER_ERROR);
        // SAFETY: filled through the safe API.
        assert_eq!(unsafe { resp.body() }, b"bad id 7");
    }
}
